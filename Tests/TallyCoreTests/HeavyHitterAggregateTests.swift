import Testing
import TallySketches
import TallySynthetic
import TallyWire
@testable import TallyCore

/// Heavy hitters per deployment slice (``HeavyHitterTable``, SNAPSHOT.md "Heavy hitters"):
/// the engine's summaries against exact counts of the same frames, through two shards, the
/// binary form, a merge and the decoder's checks.
@Suite(.serialized) struct HeavyHitterAggregateTests {
    let start: UInt64 = 1_763_700_000_000_000  // a multiple of 10 s
    let k = 16

    /// Frames of a fleet with 1,500 Zipf users (exponent 1.1) in the 10-s window at `windowStart`.
    func frames(_ count: Int, seed: UInt64, windowStart: UInt64) -> [TraceFrame] {
        var rng = SplitMix64(seed: seed)
        let fleet = SyntheticFleet(tenants: 20, users: 1_500, userExponent: 1.1)
        return (0..<count).map { fleet.frame(eventTimeMicros: windowStart + UInt64($0) * 200, &rng) }
    }

    func slice(_ f: TraceFrame) -> SeriesLabels {
        SeriesLabels(model: f.model, modelVersion: f.modelVersion ?? "", promptVersion: f.promptVersion ?? "",
                     route: f.route ?? "", ring: f.ring)
    }

    /// Runs `frames` (one window) through a two-shard engine keeping heavy hitters of capacity `k`.
    func snapshot(_ frames: [TraceFrame], capacity: Int, maxSeries: Int = 50_000, windowStart: UInt64? = nil,
                  collector: String = "c") throws -> (Snapshot, EngineCounters) {
        try twoShardWindow(frames, windowStart: windowStart ?? start, collector: collector) {
            $0.maxSeriesPerShardWindow = maxSeries
            $0.tags = TagPolicy(seriesKeys: ["tier"], breakdownKeys: ["lang"])
            $0.heavyHitterCapacity = capacity
        }
    }

    /// Exact weights per slice and user: requests of frames with a user, and their priced
    /// cost > 0 (each rounded up to the 2^-32-USD grid, so every sum is exact).
    struct Exact {
        var requests: [SeriesLabels: [UInt64: Double]] = [:]
        var cost: [SeriesLabels: [UInt64: Double]] = [:]
    }

    func exact(_ frames: [TraceFrame]) -> Exact {
        var e = Exact()
        for f in frames where f.userHash != 0 {
            let s = slice(f)
            e.requests[s, default: [:]][f.userHash, default: 0] += 1
            if let price = prices.price(of: f.model) {
                let cost = price.cost(inputTokens: f.inputTokens, cachedInputTokens: f.cachedInputTokens,
                                      cacheCreationInputTokens: f.cacheCreationInputTokens, outputTokens: f.outputTokens,
                                      reasoningOutputTokens: f.reasoningOutputTokens)
                // SNAPSHOT.md: a frame weighs its cost rounded up to a multiple of 2^-32 USD.
                if cost > 0 { e.cost[s, default: [:]][f.userHash, default: 0] += HeavyHitterCost.weight(cost) }
            }
        }
        return e
    }

    /// Every guarantee SNAPSHOT.md states for one summary, against the exact weights.
    func checkBounds(_ summary: HeavyHitters, _ truth: [UInt64: Double], _ what: String) {
        let w = truth.values.reduce(0, +)
        // Integers and multiples of 2^-32 add exactly in any order: W to the last bit.
        #expect(summary.totalWeight == w, "\(what): W \(summary.totalWeight) vs \(w)")
        let slack = 1e-9 * max(w, 1e-9)
        let entries = summary.entries
        #expect(entries.count == min(summary.capacity, truth.count), "\(what): entries")
        for e in entries {
            let t = truth[e.key] ?? 0
            #expect(t <= e.estimate + slack && e.estimate <= t + e.error + slack, "\(what): \(e.key) true \(t), \(e.estimate) ± \(e.error)")
            #expect(e.error <= summary.errorBound + slack, "\(what): error \(e.error) over W/k \(summary.errorBound)")
        }
        let held = Set(entries.map(\.key))
        for (user, t) in truth where t > summary.errorBound + slack {
            #expect(held.contains(user), "\(what): \(user) with \(t) of \(w) is over W/k and must be held")
        }
    }

    @Test func summariesHoldTheirBoundsAgainstExactCounts() throws {
        let input = frames(40_000, seed: 11, windowStart: start)
        let (snapshot, counters) = try snapshot(input, capacity: k)
        let truth = exact(input)
        #expect(counters.heavyHittersRefused == 0)
        #expect(Set(snapshot.heavyHitters.map(\.labels)) == Set(truth.requests.keys), "one entry per slice with users")
        #expect(snapshot.heavyHitters.map(\.labels) == snapshot.heavyHitters.map(\.labels).sorted(), "label order")
        var busy = 0
        for hitters in snapshot.heavyHitters {
            #expect(hitters.labels.tags.isEmpty && hitters.capacity == k)
            let requests = truth.requests[hitters.labels] ?? [:]
            if requests.count > k { busy += 1 }
            checkBounds(hitters.usersByRequests, requests, "\(hitters.labels.model) requests")
            checkBounds(hitters.usersByCost, truth.cost[hitters.labels] ?? [:], "\(hitters.labels.model) cost")
        }
        #expect(busy >= 3, "slices with more users than counters, where the bounds matter: \(busy)")
    }

    /// The engine's flat counters replace the same counter as the heap-based sketch, so
    /// after the same weighted Zipf stream both hold the same entries and the same W.
    @Test func flatCountersEqualTheSketch() {
        for (capacity, seed) in [(1, 1), (8, 2), (16, 3), (64, 4)] {
            var flat = FlatSpaceSaving(capacity: capacity)
            defer { flat.release() }
            var sketch = HeavyHitters(capacity: capacity)
            var rng = SplitMix64(seed: UInt64(seed))
            let users = ZipfDistribution(count: 500, exponent: 1.05)
            for i in 0..<20_000 {
                let key = UInt64(users.sample(&rng)) &* 0x9E37_79B9_7F4A_7C15 | 1
                let weight = i % 3 == 0 ? 1 : Double(rng.next() % 10_000 + 1) / 1_000
                flat.insert(key, weight: weight)
                sketch.insert(key, weight: weight)
            }
            let summary = flat.summary()
            #expect(summary.entries == sketch.entries, "k = \(capacity)")
            #expect(summary.totalWeight == sketch.totalWeight)
        }
    }

    @Test func withoutACapacityNothingIsKept() throws {
        let (snapshot, _) = try snapshot(frames(2_000, seed: 3, windowStart: start), capacity: 0)
        #expect(snapshot.heavyHitters.isEmpty)
        #expect(SnapshotCodec.encode(snapshot)[5] & SnapshotCodec.heavyHittersFlag == 0)
        let hasSection = snapshot.jsonLine().contains("\"heavy_hitters\":[")
        #expect(!hasSection, "no heavy_hitters field")
    }

    @Test func slicesPastTheCapAreRefusedAndCounted() throws {
        let input = frames(5_000, seed: 5, windowStart: start)
        let (snapshot, counters) = try snapshot(input, capacity: k, maxSeries: 2)
        let counted = snapshot.heavyHitters.reduce(0.0) { $0 + $1.usersByRequests.totalWeight }
        #expect(snapshot.heavyHitters.count <= 4, "two shards, two slices each at most")
        #expect(counters.heavyHittersRefused > 0)
        #expect(UInt64(counted) + counters.heavyHittersRefused == UInt64(input.filter { $0.userHash != 0 }.count),
                "each frame with a user is in a summary or counted refused")
        #expect(snapshot.counters["heavy_hitters.refused"] == counters.heavyHittersRefused)
    }

    @Test func sectionRoundTripsAndMergesWithinTheBounds() throws {
        let a = frames(20_000, seed: 21, windowStart: start)
        let b = frames(20_000, seed: 22, windowStart: start + 10_000_000)
        let (first, _) = try snapshot(a, capacity: k)
        let (second, _) = try snapshot(b, capacity: k, windowStart: start + 10_000_000, collector: "d")

        let bytes = SnapshotCodec.encode(first)
        #expect(bytes[5] & SnapshotCodec.heavyHittersFlag != 0)
        let decoded = try SnapshotCodec.decode(bytes)
        #expect(decoded.heavyHitters.count == first.heavyHitters.count)
        for (x, y) in zip(decoded.heavyHitters, first.heavyHitters) {
            #expect(x.labels == y.labels && x.capacity == y.capacity)
            #expect(x.usersByRequests.entries == y.usersByRequests.entries && x.usersByCost.entries == y.usersByCost.entries)
            #expect(x.usersByRequests.totalWeight == y.usersByRequests.totalWeight
                    && x.usersByCost.totalWeight == y.usersByCost.totalWeight)
        }
        #expect(SnapshotCodec.encode(decoded) == bytes, "decode then encode gives the same bytes")

        // A rollup of the two windows holds the bounds against the exact counts of both.
        let merged = try Snapshot.merged([second, first], collectorID: "rollup")
        let again = try Snapshot.merged([first, second], collectorID: "rollup")
        #expect(SnapshotCodec.encode(merged) == SnapshotCodec.encode(again), "merge order does not matter")
        let truth = exact(a + b)
        #expect(Set(merged.heavyHitters.map(\.labels)) == Set(truth.requests.keys))
        for hitters in merged.heavyHitters {
            checkBounds(hitters.usersByRequests, truth.requests[hitters.labels] ?? [:], "merged requests")
            checkBounds(hitters.usersByCost, truth.cost[hitters.labels] ?? [:], "merged cost")
        }
        let json = merged.jsonLine()
        let top = merged.heavyHitters[0].usersByRequests.entries[0].key
        let hex = String(repeating: "0", count: 16 - String(top, radix: 16).count) + String(top, radix: 16)
        let hasSection = json.contains("\"heavy_hitters\":[{\"model\":"), hasTop = json.contains("\"user\":\"\(hex)\"")
        #expect(hasSection && hasTop, "the JSON line's heavy_hitters, users as 16 hex digits")
    }

    @Test func capacitiesThatDifferDoNotMerge() throws {
        let (first, _) = try snapshot(frames(1_000, seed: 1, windowStart: start), capacity: 8)
        let (second, _) = try snapshot(frames(1_000, seed: 1, windowStart: start), capacity: 16, collector: "d")
        #expect(throws: SketchError.self) { try Snapshot.merged([first, second], collectorID: "x") }
    }

    /// A snapshot with one slice (no series) whose section ends in known bytes: the decoder
    /// refuses each way of breaking it, naming the field.
    @Test func brokenSectionsAreRefused() throws {
        let byRequests = try HeavyHitters(capacity: 2, totalWeight: 4, entries: [
            .init(key: 5, estimate: 3, error: 0), .init(key: 9, estimate: 1, error: 0)])
        let byCost = try HeavyHitters(capacity: 2, totalWeight: 0, entries: [])
        let snapshot = Snapshot(collectorID: "c", windowStartMicros: start, windowEndMicros: start + 10_000_000, sequence: 0,
                                sketches: SketchParameters(), series: [], counters: [:],
                                heavyHitters: [SliceHeavyHitters(labels: SeriesLabels(model: "m"), usersByRequests: byRequests,
                                                                 usersByCost: byCost)])
        // Version 1 first: its weights are f64, at fixed offsets from the end.
        let bytes = SnapshotCodec.encode(snapshot, version: 1)
        #expect(try SnapshotCodec.decode(bytes).heavyHitters[0].usersByRequests.entries.map(\.key) == [5, 9])
        // The end: … capacity 2 (1 byte), W = 4 (8), entry count 2 (1), entries (5, 3, 0), (9, 1, 0)
        // (48), then the cost summary: W = 0 (8), 0 entries (1).
        let entries = bytes.count - 9 - 48
        func f64(_ v: Double) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * UInt64($0))) } }
        func refused(_ change: (inout [UInt8]) -> Void) -> Bool {
            var broken = bytes
            change(&broken)
            do { _ = try SnapshotCodec.decode(broken); return false } catch { return true }
        }
        #expect(refused { $0[5] |= 8 }, "an unknown flag bit")
        #expect(refused { $0[5] |= SnapshotCodec.tenantsFlag }, "tenant parts announced, none there")
        #expect(refused { $0[5] &= ~SnapshotCodec.heavyHittersFlag }, "the section without its flag: trailing bytes")
        #expect(refused { $0.removeLast() }, "truncated")
        #expect(refused { $0.append(0) }, "a trailing byte")
        #expect(refused { $0.replaceSubrange(entries + 8..<entries + 16, with: f64(0.5)) }, "entries out of order")
        #expect(refused { $0.replaceSubrange(entries + 16..<entries + 24, with: f64(3.5)) }, "error over estimate")
        #expect(refused { $0.replaceSubrange(entries + 8..<entries + 16, with: f64(.nan)) }, "a NaN estimate")
        #expect(refused { $0.replaceSubrange(entries - 9..<entries - 1, with: f64(2)) }, "an estimate over W")
        #expect(refused { $0.replaceSubrange(entries + 24..<entries + 32, with: [5, 0, 0, 0, 0, 0, 0, 0]) }, "a repeated key")
        #expect(refused { $0[entries - 10] = 1 }, "capacity 1 under two entries")
        #expect(refused { $0[entries - 1] = 3 }, "3 entries announced, 2 there")

        // Version 2: weights are numbers. The end: capacity 2, W = 4 (16), count 2, (key 5, 3 → 12,
        // 0 → 0), (key 9, 1 → 4, 0), then the cost summary: W = 0, 0 entries: 25 bytes.
        let compact = SnapshotCodec.encode(snapshot)
        #expect(compact[4] == 2 && Array(compact.suffix(25)) == [2, 16, 2, 5, 0, 0, 0, 0, 0, 0, 0, 12, 0,
                                                                 9, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0])
        #expect(try SnapshotCodec.decode(compact).heavyHitters[0].usersByRequests.entries == byRequests.entries)
        func refusedV2(_ change: (inout [UInt8]) -> Void) -> Bool {
            var broken = compact
            change(&broken)
            do { _ = try SnapshotCodec.decode(broken); return false } catch { return true }
        }
        let n = compact.count
        #expect(refusedV2 { $0[n - 14] = 3 }, "an odd number prefix other than the escape")
        #expect(refusedV2 { $0[n - 14] = 1 }, "an escape without its eight bytes")
        #expect(refusedV2 { $0[n - 13] = 16 }, "error 8 over estimate 3")
        #expect(refusedV2 { $0[n - 14] = 18 }, "estimate 9 over W = 4")
        #expect(refusedV2 { $0.replaceSubrange(n - 14..<n - 13, with: [1] + f64(.infinity)) }, "an escaped ∞")
        #expect(!refusedV2 { $0.replaceSubrange(n - 14..<n - 13, with: [1] + f64(3)) }, "an escaped integer reads (SNAPSHOT.md)")
    }
}
