/// LSD radix sort of 32-bit floats by their order-preserving 32-bit images (or of
/// unsigned 32-bit keys), 8 bits a pass; a pass whose byte is the same for every value is skipped (the sign and top
/// exponent byte often are). Allocates nothing: the histograms live on the stack and
/// the caller lends the temporary buffer. With 64-bit keys it cut the t-digest's
/// insert cost from about 470 to 310 instructions a value; 32-bit keys halve the
/// passes again (Benchmarks/README.md). Short buffers take cheaper paths: eight values or
/// fewer by insertion, up to ``mergeSortUpTo`` by a merge sort of the same images
/// (RadixSort+ParityMerge.swift).
enum RadixSort {
    /// Buffers this short or shorter are sorted by insertion in place: a few instructions a
    /// value, where a call into the standard sort cost ~100 for 4 values (a window's typical
    /// digest, sorted when its snapshot is written).
    static let insertionSortUpTo = 8

    /// Sorts `values` ascending (callers never pass NaN), using `temporary` (at least as
    /// long) as scratch. Buffers of more than ``insertionSortUpTo`` values are sorted by
    /// their ordered images, so −0 comes before +0 there; shorter ones, sorted by insertion,
    /// keep the order of equal values, ±0 among them.
    static func sort(_ values: UnsafeMutableBufferPointer<Float>, temporary: UnsafeMutableBufferPointer<Float>) {
        guard values.count > 1 else { return }
        if values.count <= RadixSort.insertionSortUpTo { return insertionSort(values) }
        precondition(values.count <= Int(UInt32.max), "radix sort of over 4 G values")
        precondition(temporary.count >= values.count, "radix sort scratch too small")
        values.withMemoryRebound(to: UInt32.self) { keys in
            temporary.withMemoryRebound(to: UInt32.self) { spare in
                let n = keys.count
                if n <= RadixSort.mergeSortUpTo {
                    for i in 0..<n { keys[i] = orderedKey(keys[i]) }
                    mergeSort(keys.baseAddress!, spare: spare.baseAddress!, count: n)
                    for i in 0..<n { keys[i] = floatBits(keys[i]) }
                    return
                }
                // 256 × 4 bytes = 1 KiB: within the standard library's always-on-the-stack limit.
                withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 256) { counts in
                    sortKeys(keys, spare: spare, counts: counts, floats: true)
                }
            }
        }
    }

    /// Sorts unsigned `keys` ascending, using `temporary` (at least as long) as scratch.
    static func sort(_ keys: UnsafeMutableBufferPointer<UInt32>, temporary: UnsafeMutableBufferPointer<UInt32>) {
        guard keys.count > 1 else { return }
        if keys.count <= RadixSort.insertionSortUpTo { return insertionSort(keys) }
        precondition(temporary.count >= keys.count, "radix sort scratch too small")
        if keys.count <= RadixSort.mergeSortUpTo {
            return mergeSort(keys.baseAddress!, spare: temporary.baseAddress!, count: keys.count)
        }
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 256) { counts in
            sortKeys(keys, spare: temporary, counts: counts, floats: false)
        }
    }

    /// Ascending by `<`, stable (equal values, +0 and −0 among them, keep their order, as
    /// they do in the standard sort).
    @inline(__always)
    private static func insertionSort<T: Comparable>(_ values: UnsafeMutableBufferPointer<T>) {
        for i in 1..<values.count {
            let value = values[i]
            var j = i
            while j > 0 && value < values[j - 1] {
                values[j] = values[j - 1]
                j -= 1
            }
            values[j] = value
        }
    }

    /// The passes; with `floats`, `keys` hold float bits, mapped to their ordered images
    /// before and back after.
    private static func sortKeys(_ keys: UnsafeMutableBufferPointer<UInt32>, spare: UnsafeMutableBufferPointer<UInt32>,
                                 counts: UnsafeMutableBufferPointer<UInt32>, floats: Bool) {
        let n = keys.count
        var differing: UInt32 = 0  // bits in which some key differs from the first
        let first = floats ? orderedKey(keys[0]) : keys[0]
        for i in 0..<n {
            let key = floats ? orderedKey(keys[i]) : keys[i]
            keys[i] = key
            differing |= key ^ first
        }
        var source = keys.baseAddress!, destination = spare.baseAddress!
        for byte in 0..<4 {
            let shift = UInt32(byte &* 8)
            if (differing >> shift) & 0xFF == 0 { continue }  // every key shares this byte
            for digit in 0..<256 { counts[digit] = 0 }
            for i in 0..<n { counts[Int((source[i] >> shift) & 0xFF)] &+= 1 }
            var offset: UInt32 = 0
            for digit in 0..<256 {
                let count = counts[digit]
                counts[digit] = offset
                offset &+= count
            }
            for i in 0..<n {
                let key = source[i]
                let digit = Int((key >> shift) & 0xFF)
                destination[Int(counts[digit])] = key
                counts[digit] &+= 1
            }
            swap(&source, &destination)
        }
        if source != keys.baseAddress! { keys.baseAddress!.update(from: source, count: n) }
        if floats { for i in 0..<n { keys[i] = floatBits(keys[i]) } }
    }

    /// Sign bit flipped for non-negative values, all bits flipped for negative ones:
    /// unsigned order of the result is numeric order of the floats.
    @inline(__always)
    static func orderedKey(_ bits: UInt32) -> UInt32 {
        bits >> 31 == 1 ? ~bits : bits | (1 << 31)
    }

    @inline(__always)
    static func floatBits(_ key: UInt32) -> UInt32 {
        key >> 31 == 1 ? key & ~(1 << 31) : ~key
    }
}
