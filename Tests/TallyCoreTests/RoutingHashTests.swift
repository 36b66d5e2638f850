import Testing
import TallyWire
@testable import TallyCore

/// ``SeriesKey/routingHash`` picks a series' shard (its high bits) and its first index slot
/// (bits 29 and up, ``WindowTable/home(_:)``), and counts folded keys in a HyperLogLog: it
/// must follow the key's identity exactly and spread keys evenly.
@Suite struct RoutingHashTests {
    /// Keys of `models` × `routes` × up to three dimension tags with `values` values each.
    static func keys(models: UInt32 = 8, routes: UInt32 = 10, values: UInt32 = 12) -> [SeriesKey] {
        var keys: [SeriesKey] = []
        for model in 1...models {
            for route in 1...routes {
                for a in 0...values {
                    for b in 0...values {
                        var key = SeriesKey(model: model, modelVersion: 3, promptVersion: 4, route: route,
                                            ring: route % 2 == 0 ? .canary : .stable)
                        if a > 0 { key.insertTag(key: 100, value: 200 + a) }
                        if b > 0 { key.insertTag(key: 101, value: 300 + b) }
                        if a > 0 && b > 0 { key.insertTag(key: 102, value: 400 + (a ^ b)) }
                        keys.append(key)
                    }
                }
            }
        }
        return keys
    }

    @Test func followsTheIdentityNotTheExtras() {
        for count in 0...WireLimits.maxTags {
            var key = SeriesKey(model: 7, modelVersion: 1, promptVersion: 2, route: 3)
            for i in 0..<count { key.insertTag(key: UInt32(10 + i), value: UInt32(50 + i)) }
            let plain = key.routingHash
            // Breakdown tags sit in the slots after the dimension tags; the heavy-hitter value
            // in what was padding. Neither is part of the identity.
            var extras = key
            extras.appendBreakdown(key: 90, value: 91)
            extras.appendBreakdown(key: 92, value: 93)
            extras.heavyHitterValue = 77
            #expect(extras == key)
            #expect(extras.routingHash == plain, "\(count) dimension tags")
            // The same tags inserted in reverse order make the same key.
            var reversed = SeriesKey(model: 7, modelVersion: 1, promptVersion: 2, route: 3)
            for i in (0..<count).reversed() { reversed.insertTag(key: UInt32(10 + i), value: UInt32(50 + i)) }
            #expect(reversed.routingHash == plain)
            // One more tag, a cohort's mark or another ring is another key.
            if count < WireLimits.maxTags {
                var more = key
                more.insertTag(key: 99, value: 0)
                #expect(more.routingHash != plain)
            }
            var cohort = key
            cohort.isCohort = true
            #expect(cohort.routingHash != plain)
            var canary = key
            canary.ring = .canary
            #expect(canary.routingHash != plain)
        }
    }

    /// A frame's cohort keys are built from its breakdown tags as packed words and hashed
    /// from the frame key's slice hash (``WindowTable``'s cohort path): the same keys and
    /// hashes as ``SeriesKey/cohortKey(_:)`` and ``SeriesKey/routingHash`` give.
    @Test func cohortKeysHashFromTheFramesSlice() {
        for dimensions in 0...4 {
            for breakdowns in 1...(WireLimits.maxTags - dimensions) {
                var key = SeriesKey(model: 7 + UInt32(dimensions), modelVersion: 1, promptVersion: 2,
                                    route: 3 + UInt32(breakdowns), ring: dimensions % 2 == 0 ? .stable : .canary)
                for i in 0..<dimensions { key.insertTag(key: UInt32(10 + i), value: UInt32(50 + i)) }
                for b in 0..<breakdowns { key.appendBreakdown(key: UInt32(30 + b), value: UInt32(70 + 3 * b)) }
                for b in 0..<breakdowns {
                    let (tagKey, value) = key.breakdownTag(b)
                    let cohort = key.cohortKey(packedTag: UInt64(tagKey) << 32 | UInt64(value))
                    #expect(cohort == key.cohortKey(b) && cohort.isCohort && cohort.tagCount == 1)
                    #expect(cohort.routingHash(afterSlice: key.sliceHash) == cohort.routingHash,
                            "\(dimensions) dimension tags, breakdown \(b)")
                }
            }
        }
    }

    /// Each cohort aggregate a table makes is found by its key's own routing hash
    /// (``WindowTable/aggregate(_:)``), holding the frames of its breakdown value.
    @Test func aTablesCohortAggregatesAreFoundByTheirKeys() {
        let table = WindowTable(startMicros: 0, maxSeries: 1_000, sketches: SketchParameters())
        var expected: [SeriesKey: UInt64] = [:]
        for i in 0..<60 {
            var key = SeriesKey(model: 1 + UInt32(i % 2), route: 5, tags: [(key: 10, value: UInt32(20 + i % 3))])
            key.appendBreakdown(key: 40, value: UInt32(100 + i % 4))
            key.appendBreakdown(key: 41, value: UInt32(200 + i % 5))
            table.add(FrameRecord(key: key, routingHash: key.routingHash, eventTimeMicros: 0, values: FrameValues(
                userHash: UInt64(i + 1), sessionHash: 1, cost: 0.5, queueTimeMicros: 3, timeToFirstTokenMicros: 10,
                totalLatencyMicros: 100, inputTokens: 5, outputTokens: 3, cachedInputTokens: 0, errorClass: 0,
                categoryID: 2, safetyKinds: [], status: .ok, outcome: OutcomeBits(task: .success), safetySeverity: .none)))
            for b in 0..<2 { expected[key.cohortKey(b), default: 0] += 1 }
        }
        let cohorts = table.keys.filter(\.isCohort)
        #expect(Set(cohorts) == Set(expected.keys))
        for key in cohorts { #expect(table.aggregate(key)?.requests == expected[key], "\(key)") }
    }

    /// `==` compares every dimension slot, each by its own index, and none past them.
    @Test func equalityComparesEachDimensionSlotAndNoOther() {
        for count in 0...WireLimits.maxTags {
            var key = SeriesKey(model: 7, modelVersion: 1, promptVersion: 2, route: 3)
            for i in 0..<count { key.insertTag(key: UInt32(10 + i), value: UInt32(50 + i)) }
            for slot in 0..<WireLimits.maxTags {
                var other = key
                withUnsafeMutableBytes(of: &other.tags) { raw in
                    raw.storeBytes(of: raw.load(fromByteOffset: slot * 8, as: UInt64.self) ^ 1, toByteOffset: slot * 8,
                                   as: UInt64.self)
                }
                #expect((other == key) == (slot >= count), "\(count) dimension tags, slot \(slot) changed")
            }
            var fewer = key
            fewer.tagCount = UInt8(max(count - 1, 0))
            #expect((fewer == key) == (count == 0))
        }
    }

    @Test func distinctKeysHashApart() {
        let keys = Self.keys()
        #expect(keys.count == 8 * 10 * 13 * 13)
        #expect(Set(keys).count == keys.count)
        #expect(Set(keys.map(\.routingHash)).count == keys.count)
        // Every field, and each tag's key and value, changes the hash.
        let base = SeriesKey(model: 5, modelVersion: 6, promptVersion: 7, route: 8, tags: [(9, 10), (11, 12), (13, 14)])
        var changed: [SeriesKey] = []
        var k = base; k.model = 500; changed.append(k)
        k = base; k.modelVersion = 600; changed.append(k)
        k = base; k.promptVersion = 700; changed.append(k)
        k = base; k.route = 800; changed.append(k)
        for slot in 0..<3 {
            let (tagKey, value) = base.tag(slot)
            for replacement in [(tagKey, value + 1000), (tagKey + 1000, value)] {
                var tags = (0..<3).map { base.tag($0) }
                tags[slot] = replacement
                changed.append(SeriesKey(model: 5, modelVersion: 6, promptVersion: 7, route: 8, tags: tags))
            }
        }
        #expect(Set(changed.map(\.routingHash) + [base.routingHash]).count == changed.count + 1)
    }

    /// 16,900 keys over 2, 3 and 4 shards (the high word of hash × shards) and over the first
    /// slots of a 1,024-slot index (``WindowTable/home(_:)``'s bits 29–38), and over its low
    /// 10 bits (as a plain mask would take them): every shard within 3 % of its share, and
    /// the slots' counts no more spread than a uniform draw's (chi-square below its 99.9 %
    /// point).
    @Test func spreadsOverShardsAndSlots() {
        let hashes = Self.keys(models: 10).map(\.routingHash)
        for shards in 2...4 {
            var counts = [Int](repeating: 0, count: shards)
            for h in hashes { counts[Int(h.multipliedFullWidth(by: UInt64(shards)).high)] += 1 }
            let share = Double(hashes.count) / Double(shards)
            for count in counts { #expect(abs(Double(count) - share) / share < 0.03, "\(shards) shards: \(counts)") }
        }
        for (name, slot) in [("index home", { (h: UInt64) in WindowTable.home(h) & 1_023 }),
                             ("low bits", { (h: UInt64) in Int(h & 1_023) })] {
            var slots = [Int](repeating: 0, count: 1_024)
            for h in hashes { slots[slot(h)] += 1 }
            let expected = Double(hashes.count) / 1_024
            let chiSquare = slots.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
            // 1,023 degrees of freedom: the 99.9 % point is ~1,168.
            #expect(chiSquare < 1_168, "\(name): chi-square \(chiSquare)")
        }
    }

    /// A one-bit change of any input word flips about half of the 64 output bits.
    @Test func oneBitChangesFlipHalfTheBits() {
        let base = SeriesKey(model: 1_234, modelVersion: 56, promptVersion: 78, route: 90, tags: [(11, 22), (33, 44)])
        var flips: [Int] = []
        for bit in 0..<20 {
            let delta = UInt32(1) << UInt32(bit)
            var variants: [SeriesKey] = []
            var k = base; k.model ^= delta; variants.append(k)
            k = base; k.route ^= delta; variants.append(k)
            variants.append(SeriesKey(model: 1_234, modelVersion: 56, promptVersion: 78, route: 90,
                                      tags: [(11, 22 ^ delta), (33, 44)]))
            variants.append(SeriesKey(model: 1_234, modelVersion: 56, promptVersion: 78, route: 90,
                                      tags: [(11, 22), (33, 44 ^ delta)]))
            for v in variants { flips.append((v.routingHash ^ base.routingHash).nonzeroBitCount) }
        }
        let mean = Double(flips.reduce(0, +)) / Double(flips.count)
        #expect(mean > 28 && mean < 36, "mean bits flipped \(mean)")
        #expect(flips.min()! >= 12, "fewest bits flipped \(flips.min()!)")
    }
}
