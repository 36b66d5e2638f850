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

    /// A set's first key that is not an escape is held without slots; every way out of that
    /// state (a repeat, a second key, an escape, the exact limit) agrees with a set model.
    @Test func aSetOfOneKeyHasNoSlotsAndLeavesThatStateCorrectly() {
        var one = HyperLogLogExactSet()
        let first = one.insert(0x123_4567, isEscape: false, growingUpTo: .max)
        #expect(first)
        #expect(one.count == 1 && one.slotCount == 0 && one.contains(0x123_4567) && !one.contains(0x123_4568))
        let again = one.insert(0x123_4567, isEscape: false, growingUpTo: .max)
        #expect(!again)
        #expect(one.count == 1 && one.slotCount == 0 && one.sortedKeys == [0x123_4567])
        var folded: [UInt64] = []
        one.forEachKey { folded.append($0) }
        #expect(folded == [0x123_4567])
        #expect(one == HyperLogLogExactSet(keys: [0x123_4567]))
        #expect(one != HyperLogLogExactSet(keys: [0x123_4568]))

        // Short random sequences with repeats and escapes, each against the model.
        var state: UInt64 = 7
        for trial in 0..<2_000 {
            var set = HyperLogLogExactSet()
            var model: [UInt64: UInt64] = [:]
            for step in 0..<(trial % 5 + 1) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                var key = (state >> 20) & ((1 << 28) - 1)
                if (state >> 8) % 5 == 0 { key = state >> 60 }  // an escape
                if (state >> 12) % 4 == 0, let existing = model.keys.first { key = existing }  // a repeat
                let isEscape = key < 16
                let full = isEscape ? key | UInt64(1 + step) << 32 : key
                let isNew = set.insert(full, isEscape: isEscape, growingUpTo: trial % 3 == 0 ? 1 : .max)
                #expect(isNew == (model[key] == nil))
                model[key] = max(model[key] ?? 0, full)
                #expect(model.keys.allSatisfy { set.contains(UInt32($0)) })
            }
            #expect(set.count == model.count)
            #expect(set.sortedKeys == model.keys.sorted().map { model[$0]! })
            var each: [UInt64] = []
            set.forEachKey { each.append($0) }
            #expect(each.sorted() == model.values.sorted())
            if model.count == 1, let only = model.keys.first, only >= 16 { #expect(set.slotCount == 0) }
        }
    }
}
