import Testing
import TallySynthetic
@testable import TallySketches

/// Storage sized ahead for a known number of values (`TDigest.reserveValues`,
/// `HyperLogLog.reserveExact`: a series built when its window seals) changes where values
/// are kept, never what the sketch answers or writes.
@Suite struct ReservedStorageTests {
    /// A digest given room for `n` values answers and serializes (both forms) as one that
    /// grew as they came, ties among the values included; past ``TDigest/smallCapacity`` the
    /// room is one buffer of at least min(n, buffer capacity) slots, below it none.
    @Test(arguments: [0, 1, 4, 5, 24, 31, 32, 600])
    func aReservedDigestAnswersAsOneThatGrew(values n: Int) {
        var rng = SplitMix64(seed: UInt64(n) + 1)
        var grown = TDigest(), reserved = TDigest()
        reserved.reserveValues(n)
        if n > TDigest.smallCapacity {
            #expect(reserved.buffer.capacity >= min(n, reserved.bufferCapacity))
        } else {
            #expect(reserved.buffer.capacity == 0)
        }
        for i in 0..<n {
            let v = i % 5 == 0 ? 250.0 : Double(rng.next() % 10_000) + 0.5
            grown.insert(v)
            reserved.insert(v)
        }
        #expect(reserved.count == grown.count && reserved.sum == grown.sum)
        #expect(reserved.serialized() == grown.serialized())
        #expect(reserved.compactSerialized() == grown.compactSerialized())
        for q in stride(from: 0.0, through: 1.0, by: 0.01) where n > 0 {
            #expect(reserved.quantile(q) == grown.quantile(q), "q \(q)")
        }
    }

    /// A digest that already holds values ignores the reservation.
    @Test func aDigestWithValuesKeepsItsStorage() {
        var digest = TDigest()
        digest.insert(1)
        digest.reserveValues(100)
        #expect(digest.buffer.capacity == 0)
        #expect(digest.count == 1)
    }

    /// A HyperLogLog given room for `n` keys estimates and serializes as one whose exact set
    /// grew; its exact set takes them without growing (2n ≤ slots), and past the exact limit
    /// it turns to registers as before.
    @Test(arguments: [0, 1, 4, 5, 24, 31, 1_000, 5_000])
    func aReservedSketchAnswersAsOneThatGrew(keys n: Int) {
        var grown = HyperLogLog(precision: 14), reserved = HyperLogLog(precision: 14)
        reserved.reserveExact(n)
        let slots = reserved.exact.slotCount
        if n > 4 && n <= reserved.exactLimit { #expect(slots >= 2 * n) } else if n <= 4 { #expect(slots == 0) }
        var rng = SplitMix64(seed: UInt64(n) + 7)
        for i in 0..<n {
            let value = i % 3 == 0 ? UInt64(i / 3) + 1 : rng.next()  // some repeat
            grown.insert(value)
            reserved.insert(value)
            reserved.insert(value)
        }
        if n > 4 && n <= reserved.exactLimit / 2 { #expect(reserved.exact.slotCount == slots, "no growth") }
        #expect(reserved.estimate == grown.estimate)
        #expect(reserved.serialized() == grown.serialized())
    }
}
