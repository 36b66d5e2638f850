/// The merge sort ``RadixSort`` uses for 9 … ``RadixSort/mergeSortUpTo`` keys, where a radix
/// pass's two walks over 256 counters cost more than the keys themselves: runs of eight
/// sorted by a sorting network, then merged bottom-up between the keys and the spare
/// buffer, branch-free. Two runs of equal length are merged from both ends at once (a
/// *parity merge*, as in Scandum's quadsort), which gives the processor two independent
/// chains of loads and compares instead of one.
///
/// Measured on 64 random floats (callgrind and wall clock, Benchmarks/README.md, "Sorts of
/// up to 128 values by merging"): ~3,500 instructions and 215–245 ns against the radix passes'
/// ~8,900 and ~500 ns.
extension RadixSort {
    /// Keys up to this many (and more than ``insertionSortUpTo``) are merge-sorted; above it
    /// the radix passes are cheaper in time (at 192 keys: ~1.2 µs against ~1.0).
    static let mergeSortUpTo = 128

    /// Sorts `count` keys at `keys` ascending, with `spare` (room for as many) as scratch.
    /// Equal keys are equal bits, so stability does not arise.
    static func mergeSort(_ keys: UnsafeMutablePointer<UInt32>, spare: UnsafeMutablePointer<UInt32>, count n: Int) {
        let run = 8
        var start = 0
        while start &+ run <= n {
            sortEight(keys + start)
            start &+= run
        }
        // The last run, shorter than eight, by insertion.
        var i = start &+ 1
        while i < n {
            let key = keys[i]
            var j = i
            while j > start && key < keys[j &- 1] {
                keys[j] = keys[j &- 1]
                j &-= 1
            }
            keys[j] = key
            i &+= 1
        }
        var source = keys, destination = spare
        var width = run
        while width < n {
            var low = 0
            while low < n {
                let middle = Swift.min(low &+ width, n), high = Swift.min(middle &+ width, n)
                if high &- middle == width {
                    parityMerge(source + low, width: width, into: destination + low)
                } else {
                    merge(source, low, middle, high, into: destination)
                }
                low = high
            }
            swap(&source, &destination)
            width &<<= 1
        }
        if source != keys { keys.update(from: source, count: n) }
    }

    /// Merges the sorted runs `source[0..<width]` and `source[width..<2·width]` into
    /// `destination[0..<2·width]`: each step writes the smaller head at the front and the
    /// larger tail at the back. After `width` steps each end has taken `width` keys, so
    /// neither side's index leaves its run (Scandum, quadsort's "parity merge").
    @inline(__always)
    static func parityMerge(_ source: UnsafeMutablePointer<UInt32>, width: Int, into destination: UnsafeMutablePointer<UInt32>) {
        // Indices, not moving pointers: a compare's carry then adds straight into them.
        var left = 0, right = width, out = 0
        var leftTail = width &- 1, rightTail = 2 &* width &- 1, outTail = 2 &* width &- 1
        for _ in 0..<width {
            takeSmaller(source, &left, &right, into: destination + out)
            out &+= 1
            let c = source[leftTail], d = source[rightTail]
            let takeLeft = d < c
            destination[outTail] = takeLeft ? c : d
            leftTail &-= takeLeft ? 1 : 0
            rightTail &-= takeLeft ? 0 : 1
            outTail &-= 1
        }
    }

    /// Merges `source[low..<middle]` and `source[middle..<high]`, both sorted, into
    /// `destination[low..<high]`, front to back.
    @inline(__always)
    static func merge(_ source: UnsafeMutablePointer<UInt32>, _ low: Int, _ middle: Int, _ high: Int,
                      into destination: UnsafeMutablePointer<UInt32>) {
        var i = low, j = middle, k = low
        while i < middle && j < high {
            takeSmaller(source, &i, &j, into: destination + k)
            k &+= 1
        }
        if i < middle { (destination + k).update(from: source + i, count: middle &- i) }
        if j < high { (destination + k).update(from: source + j, count: high &- j) }
    }

    /// Writes the smaller of `source[i]` and `source[j]` (`source[i]` when equal) to `out`
    /// and steps past it, without a branch.
    @inline(__always)
    static func takeSmaller(_ source: UnsafeMutablePointer<UInt32>, _ i: inout Int, _ j: inout Int,
                            into out: UnsafeMutablePointer<UInt32>) {
        let a = source[i], b = source[j]
        let takeRight = b < a
        out.pointee = takeRight ? b : a
        i &+= takeRight ? 0 : 1
        j &+= takeRight ? 1 : 0
    }

    /// Sorts the eight keys at `p` with a 19-comparator, depth-6 network (Knuth, *The Art
    /// of Computer Programming* vol. 3, §5.3.4, the optimal network for eight inputs), in
    /// registers and without branches.
    @inline(__always)
    static func sortEight(_ p: UnsafeMutablePointer<UInt32>) {
        var (a, b, c, d, e, f, g, h) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7])
        order(&a, &c); order(&b, &d); order(&e, &g); order(&f, &h)
        order(&a, &e); order(&b, &f); order(&c, &g); order(&d, &h)
        order(&a, &b); order(&c, &d); order(&e, &f); order(&g, &h)
        order(&c, &e); order(&d, &f)
        order(&b, &e); order(&d, &g)
        order(&b, &c); order(&d, &e); order(&f, &g)
        (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]) = (a, b, c, d, e, f, g, h)
    }

    /// One comparator: the smaller of the two in `low`, the larger in `high`.
    @inline(__always)
    static func order(_ low: inout UInt32, _ high: inout UInt32) {
        let smaller = Swift.min(low, high)
        high = Swift.max(low, high)
        low = smaller
    }
}
