import Testing
import TallySynthetic
@testable import TallySketches

@Suite struct RadixSortTests {
    /// Insertion (≤ 8), merge (9 … 128: whole runs of eight, a short last run, equal and
    /// unequal merges) and radix (> 128) sizes.
    @Test(arguments: [0, 1, 2, 8, 9, 13, 16, 17, 24, 40, 64, 100, 127, 128, 129, 1_000, 5_000])
    func sortsLikeTheStandardLibrary(count: Int) {
        var rng = SplitMix64(seed: UInt64(count))
        func value(_ i: Int, _ rng: inout SplitMix64) -> Double {
            switch rng.next() % 6 {
            case 0: return -Distribution.lognormal(mu: 0, sigma: 3).sample(&rng)
            case 1: return Double(rng.next() % 10)            // many ties
            case 2: return i % 2 == 0 ? 0.0 : -0.0
            case 3: return Double(Float.greatestFiniteMagnitude) * (rng.unit() - 0.5)
            case 4: return Double(Float.leastNonzeroMagnitude) * Double(rng.next() % 5)
            default: return rng.unit()
            }
        }
        var values = (0..<count).map { i -> Float in Float(value(i, &rng)) }
        let expected = values.sorted()
        // Past insertion sizes the order is that of the ordered images: −0 before +0.
        let expectedBits = count <= RadixSort.insertionSortUpTo
            ? expected.map(\.bitPattern)
            : values.map { RadixSort.orderedKey($0.bitPattern) }.sorted().map(RadixSort.floatBits)
        var temporary = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { v in
            temporary.withUnsafeMutableBufferPointer { t in RadixSort.sort(v, temporary: t) }
        }
        // Equal as numbers (−0 and +0 compare equal), and bit for bit where ±0 fall.
        #expect(values == expected)
        #expect(values.map(\.bitPattern) == expectedBits)
    }

    @Test(arguments: [2, 8, 9, 15, 16, 23, 24, 31, 32, 33, 48, 64, 65, 96, 120, 128, 129, 300])
    func sortsKeysLikeTheStandardLibrary(count: Int) {
        var rng = SplitMix64(seed: 77 &+ UInt64(count))
        // Wide keys, runs of ties, and keys already in (reverse) order.
        var keys = (0..<count).map { i -> UInt32 in
            switch i % 4 {
            case 0: UInt32(truncatingIfNeeded: rng.next())
            case 1: UInt32(rng.next() % 4)
            case 2: UInt32(i)
            default: UInt32.max &- UInt32(i)
            }
        }
        let expected = keys.sorted()
        var temporary = [UInt32](repeating: 0, count: count)
        keys.withUnsafeMutableBufferPointer { k in
            temporary.withUnsafeMutableBufferPointer { t in RadixSort.sort(k, temporary: t) }
        }
        #expect(keys == expected)
    }

    /// The eight-key network sorts every 0-1 input, hence every input (the zero-one
    /// principle, Knuth vol. 3, §5.3.4).
    @Test func eightKeyNetworkSortsEveryZeroOneInput() {
        var unsorted = 0
        for pattern in 0..<256 {
            var keys = (0..<8).map { UInt32((pattern >> $0) & 1) }
            keys.withUnsafeMutableBufferPointer { RadixSort.sortEight($0.baseAddress!) }
            if keys != keys.sorted() || keys.reduce(0, +) != UInt32(pattern.nonzeroBitCount) { unsorted += 1 }
        }
        #expect(unsorted == 0)
    }
}
