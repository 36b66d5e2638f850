import Testing
@testable import TallySketches

@Suite struct HyperLogLogExactSetTests {
    /// Against a plain set model: counts, membership by the 28-bit key, sorted output,
    /// and escapes that keep their largest register value.
    @Test func agreesWithASetModel() {
        var set = HyperLogLogExactSet()
        var model: [UInt64: UInt64] = [:]  // 28-bit key → full form
        var state: UInt64 = 42
        for step in 0..<5_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var key = (state >> 20) & ((1 << 28) - 1)
            if step % 7 == 0 { key = state >> 60 }  // a small key: an escape, with a register value
            if step % 13 == 0, let existing = model.keys.first { key = existing }  // a repeat
            let isEscape = key < 16
            let full = isEscape ? key | UInt64(1 + step % 40) << 32 : key
            let isNew = set.insert(full, isEscape: isEscape, growingUpTo: .max)
            #expect(isNew == (model[key] == nil))
            model[key] = max(model[key] ?? 0, full)
        }
        #expect(set.count == model.count)
        #expect(set.sortedKeys == model.keys.sorted().map { model[$0]! })
        #expect(HyperLogLogExactSet(keys: set.sortedKeys.reversed()) == set)
    }

    /// The key past the limit goes in without doubling the slots.
    @Test func doesNotGrowPastTheLimit() {
        var set = HyperLogLogExactSet()
        for key in 1...256 as ClosedRange<UInt64> { set.insert(key << 8, isEscape: false, growingUpTo: 256) }
        #expect(set.count == 256 && set.slotCount == 512)
        set.insert(257 << 8, isEscape: false, growingUpTo: 256)
        #expect(set.count == 257 && set.slotCount == 512 && set.sortedKeys.last == 257 << 8)
        var grown = HyperLogLogExactSet(keys: set.sortedKeys)
        grown.insert(258 << 8, isEscape: false, growingUpTo: .max)
        #expect(grown.count == 258 && grown.slotCount == 1_024)
    }
}
