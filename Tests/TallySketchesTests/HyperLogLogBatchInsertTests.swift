import Testing
@testable import TallySketches

/// `HyperLogLog.insert(contentsOf:)` (a series built when its window seals) gives the sketch
/// that inserting the values one by one gives: the same exact keys in the same slots, the
/// same escapes, bytes and estimate, on the fast path (exact, room reserved) and off it.
@Suite struct HyperLogLogBatchInsertTests {
    /// Values whose mixed hash makes an escape at `precision` (key bits p … 27 all zero).
    static func escapeValues(_ count: Int, precision: Int) -> [UInt64] {
        var found: [UInt64] = []
        var v: UInt64 = 1
        while found.count < count {
            if (HyperLogLog.mix(v) & HyperLogLog.keyMask) >> UInt64(precision) == 0 { found.append(v) }
            v &+= 1
        }
        return found
    }

    /// `n` values from `seed`: every fifth repeats an earlier one, and the escapes given are
    /// spread among them (each twice, so an escape already held comes again).
    static func values(_ n: Int, seed: UInt64, escapes: [UInt64]) -> [UInt64] {
        var state = seed
        var out: [UInt64] = []
        for i in 0..<n {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            if i % 5 == 4, !out.isEmpty {
                out.append(out[Int(state >> 33) % out.count])
            } else if i % 11 == 3, !escapes.isEmpty {
                out.append(escapes[(i / 11) % escapes.count])
            } else {
                out.append(state | 1)
            }
        }
        return out
    }

    static func expectSame(_ a: HyperLogLog, _ b: HyperLogLog, _ context: String) {
        #expect(a.serialized() == b.serialized(), "bytes: \(context)")
        #expect(a.exact == b.exact, "exact keys: \(context)")
        #expect(a.exact.slots == b.exact.slots, "slot layout: \(context)")
        #expect(a.exact.escapes.sorted() == b.exact.escapes.sorted(), "escapes: \(context)")
        #expect(a.registers == b.registers, "registers: \(context)")
        #expect(a.estimate == b.estimate, "estimate: \(context)")
    }

    @Test(arguments: [12, 14])
    func matchesInsertingOneByOne(precision: Int) {
        let escapes = Self.escapeValues(3, precision: precision)
        let limit = HyperLogLog(precision: precision).exactLimit
        for n in [0, 1, 2, 5, 24, 100, 301, limit - 1, limit, limit + 1, 2 * limit] {
            for reserved in [false, true] {
                for held in [0, 10] {  // values inserted before the batch
                    let before = Self.values(held, seed: 7, escapes: [])
                    let batch = Self.values(n, seed: UInt64(n) &* 31 &+ UInt64(precision), escapes: escapes)
                    var one = HyperLogLog(precision: precision)
                    var all = HyperLogLog(precision: precision)
                    for v in before { one.insert(v); all.insert(v) }
                    if reserved { one.reserveExact(n); all.reserveExact(n) }
                    for v in batch { one.insert(v) }
                    batch.withUnsafeBufferPointer { all.insert(contentsOf: $0) }
                    Self.expectSame(one, all, "p \(precision), n \(n), reserved \(reserved), held \(held)")
                }
            }
        }
    }

    /// The fast path is the one taken when room was reserved: one allocation of slots, which
    /// the batch does not grow.
    @Test func reservedRoomIsUsedWithoutGrowing() {
        var sketch = HyperLogLog()
        let batch = Self.values(24, seed: 3, escapes: Self.escapeValues(1, precision: 14))
        sketch.reserveExact(batch.count)
        let slots = sketch.exact.slotCount
        #expect(sketch.exact.hasRoom(for: batch.count, limit: sketch.exactLimit))
        batch.withUnsafeBufferPointer { sketch.insert(contentsOf: $0) }
        #expect(sketch.exact.slotCount == slots)
        #expect(sketch.exact.count == Set(batch).count)
        #expect(sketch.exact.escapes.count == 1)
    }
}
