import Testing
import TallySynthetic
@testable import TallySketches

@Suite struct RadixSortTests {
    @Test(arguments: [0, 1, 2, 17, 1_000, 5_000])
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
        var temporary = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { v in
            temporary.withUnsafeMutableBufferPointer { t in RadixSort.sort(v, temporary: t) }
        }
        // Equal as numbers (−0 and +0 compare equal; the radix sort puts −0 first).
        #expect(values == expected)
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 })
    }
}
