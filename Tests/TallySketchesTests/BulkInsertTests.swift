import Testing
import TallySynthetic
@testable import TallySketches

/// `TDigest.insert(integers:)` and `insert(contentsOf:)` leave a digest exactly as inserting
/// the same values one by one does: statistics bit for bit, both serialized forms, every
/// quantile — in one pass (an empty digest, more values than it keeps inline, fewer than
/// its buffer takes) and value by value (every other case).
@Suite struct BulkInsertTests {
    static func expectSame(_ bulk: TDigest, _ oneByOne: TDigest, _ context: String) {
        #expect(bulk.count == oneByOne.count && bulk.rejected == oneByOne.rejected, "\(context)")
        #expect(bulk.sum.bitPattern == oneByOne.sum.bitPattern, "\(context): sum")
        #expect(bulk.min.bitPattern == oneByOne.min.bitPattern && bulk.max.bitPattern == oneByOne.max.bitPattern,
                "\(context): min and max")
        #expect(bulk.serialized() == oneByOne.serialized(), "\(context): full form")
        #expect(bulk.compactSerialized() == oneByOne.compactSerialized(), "\(context): compact form")
        for q in stride(from: 0.0, through: 1.0, by: 0.05) where bulk.count > 0 {
            #expect(bulk.quantile(q) == oneByOne.quantile(q), "\(context): q \(q)")
        }
    }

    /// Up to, at and past a 32-value buffer (the one-pass path stops below it), with ties,
    /// with and without room reserved first.
    @Test(arguments: [0, 1, 4, 5, 6, 17, 24, 31, 32, 33, 90])
    func integersGoInAsOneByOne(count n: Int) {
        var rng = SplitMix64(seed: UInt64(n) &+ 3)
        let values = (0..<n).map { i in i % 4 == 0 ? UInt32(700) : UInt32(truncatingIfNeeded: rng.next() % 100_000) }
        for reserved in [false, true] {
            var bulk = TDigest(bufferCapacity: 32), oneByOne = TDigest(bufferCapacity: 32)
            if reserved {
                bulk.reserveValues(n)
                oneByOne.reserveValues(n)
            }
            values.withUnsafeBufferPointer { bulk.insert(integers: $0) }
            for v in values { oneByOne.insert(integer: v) }
            Self.expectSame(bulk, oneByOne, "\(n) integers, reserved \(reserved)")
        }
    }

    /// Fractions with both zeros in either order (the first of equal extremes is kept),
    /// negatives, magnitudes past `Float`'s range (clamped in the buffer, exact in the
    /// statistics), and values that are not finite (counted as rejected, the rest one by one).
    @Test func fractionsGoInAsOneByOne() {
        let sets: [[Double]] = [
            [0.0, -0.0, 1.5, -2.25, 0.0, -0.0, 7],
            [-0.0, 0.0, 3, 3, 3, 3, -0.0, 0.0],
            [-0.0, -1, -2, 0.0, -3, -4],  // the maximum: −0 first, then +0
            [0.0, 1, 2, -0.0, 3, 4],  // the minimum: +0 first, then −0
            [1e300, -1e300, 2, 3, 4, 5, 1e-300],
            [1, 2, .nan, 3, 4, .infinity, 5, 6],
            (0..<31).map { Double($0 % 7) * 0.125 },
        ]
        for (index, values) in sets.enumerated() {
            var bulk = TDigest(), oneByOne = TDigest()
            values.withUnsafeBufferPointer { bulk.insert(contentsOf: $0) }
            for v in values { oneByOne.insert(v) }
            Self.expectSame(bulk, oneByOne, "set \(index)")
        }
    }

    /// A digest that already holds values takes the new ones one by one, after its own.
    @Test func aDigestWithValuesTakesThemOneByOne() {
        var bulk = TDigest(), oneByOne = TDigest()
        bulk.insert(integer: 5)
        oneByOne.insert(integer: 5)
        let values: [UInt32] = [9, 1, 9, 4, 4, 2, 8]
        values.withUnsafeBufferPointer { bulk.insert(integers: $0) }
        for v in values { oneByOne.insert(integer: v) }
        Self.expectSame(bulk, oneByOne, "after a value")
    }
}
