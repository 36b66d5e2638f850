import Testing
import TallySketches
import TallySynthetic
import TallyWire
@testable import TallyCore

/// Heavy hitters by a tag (``TagPolicy/heavyHitterKey``, SNAPSHOT.md "Heavy hitters"): per
/// deployment slice, the tenants by requests and by cost against exact counts of the same
/// frames, through two shards, both binary versions, the JSON line, merges and the decoder's checks.
extension HeavyHitterAggregateTests {
    /// Runs `frames` through a two-shard engine ranking users and the `tenant` tag with capacity `k`.
    func tenantSnapshot(_ frames: [TraceFrame], capacity: Int, tags: TagPolicy? = nil, windowStart: UInt64? = nil,
                        collector: String = "c") throws -> (Snapshot, EngineCounters) {
        try twoShardWindow(frames, windowStart: windowStart ?? start, collector: collector) {
            $0.tags = tags ?? TagPolicy(seriesKeys: ["tier"], breakdownKeys: ["lang"], heavyHitterKey: "tenant")
            $0.heavyHitterCapacity = capacity
        }
    }

    /// Exact weights per slice and tenant key (the name's FNV-1a-64): requests of frames
    /// carrying the tag, and their priced cost > 0; with the names.
    func exactTenants(_ frames: [TraceFrame]) -> (Exact, names: [UInt64: String]) {
        var e = Exact(), names: [UInt64: String] = [:]
        for f in frames {
            guard let tenant = f.tags.first(where: { $0.key == "tenant" })?.value else { continue }
            let s = slice(f), key = IdentifierHash.hash(tenant)
            names[key] = tenant
            e.requests[s, default: [:]][key, default: 0] += 1
            if let price = prices.price(of: f.model) {
                let cost = price.cost(inputTokens: f.inputTokens, cachedInputTokens: f.cachedInputTokens,
                                      cacheCreationInputTokens: f.cacheCreationInputTokens, outputTokens: f.outputTokens,
                                      reasoningOutputTokens: f.reasoningOutputTokens)
                // SNAPSHOT.md: a frame weighs its cost rounded up to a multiple of 2^-32 USD.
                if cost > 0 { e.cost[s, default: [:]][key, default: 0] += HeavyHitterCost.weight(cost) }
            }
        }
        return (e, names)
    }

    @Test func tenantSummariesHoldTheirBoundsAgainstExactCounts() throws {
        var input = frames(30_000, seed: 31, windowStart: start)
        // Frames with a tenant and no user count for the tenant only; frames without the tag for neither.
        for i in stride(from: 0, to: input.count, by: 7) { input[i].userHash = 0 }
        for i in stride(from: 3, to: input.count, by: 11) { input[i].tags.removeAll { $0.key == "tenant" } }
        let (snapshot, counters) = try tenantSnapshot(input, capacity: 8)
        let (truth, names) = exactTenants(input)
        #expect(counters.heavyHittersRefused == 0)
        // The fleet's tags: tenant (heavy-hitter tag), region (dropped), lang (breakdown), tier (series).
        let regions = UInt64(input.filter { $0.tags.contains { $0.key == "region" } }.count)
        #expect(counters.tagsDropped == regions, "the tenant tag is not counted dropped")
        #expect(snapshot.series.allSatisfy { !$0.labels.tags.contains { $0.key == "tenant" } }, "tenants make no series")
        #expect(Set(snapshot.heavyHitters.map(\.labels)) == Set(truth.requests.keys))
        var busy = 0
        for hitters in snapshot.heavyHitters {
            let tenants = try #require(hitters.tenants)
            #expect(tenants.tagKey == "tenant" && tenants.capacity == 8)
            let requests = truth.requests[hitters.labels] ?? [:]
            if requests.count > 8 { busy += 1 }
            checkBounds(tenants.byRequests, requests, "\(hitters.labels.model) tenants by requests")
            checkBounds(tenants.byCost, truth.cost[hitters.labels] ?? [:], "\(hitters.labels.model) tenants by cost")
            for (key, name) in tenants.names { #expect(names[key] == name, "the name of \(key)") }
            #expect(Set(tenants.names.keys) == Set((tenants.byRequests.entries + tenants.byCost.entries).map(\.key)))
            // The heaviest tenant of a Zipf stream is held and ranked first.
            if let heaviest = requests.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }),
               heaviest.value > tenants.byRequests.errorBound * 2 {
                #expect(tenants.topByRequests.first?.name == names[heaviest.key])
            }
        }
        #expect(busy >= 3, "slices with more tenants than counters, where the bounds matter: \(busy)")
        // Users are counted as before: only frames with a user hash.
        let users = exact(input)
        for hitters in snapshot.heavyHitters {
            checkBounds(hitters.usersByRequests, users.requests[hitters.labels] ?? [:], "users beside tenants")
        }
    }

    @Test func tenantsRoundTripInBothVersionsAndMergeWithinTheBounds() throws {
        let a = frames(15_000, seed: 41, windowStart: start)
        let b = frames(15_000, seed: 42, windowStart: start + 10_000_000)
        let (first, _) = try tenantSnapshot(a, capacity: 8)
        let (second, _) = try tenantSnapshot(b, capacity: 8, windowStart: start + 10_000_000, collector: "d")
        for version: UInt8 in [1, 2] {
            let bytes = SnapshotCodec.encode(first, version: version)
            #expect(bytes[5] & SnapshotCodec.tenantsFlag != 0)
            let decoded = try SnapshotCodec.decode(bytes)
            for (x, y) in zip(decoded.heavyHitters, first.heavyHitters) {
                let (t, u) = (try #require(x.tenants), try #require(y.tenants))
                #expect(t.tagKey == u.tagKey && t.names == u.names)
                #expect(t.byRequests.entries == u.byRequests.entries && t.byCost.entries == u.byCost.entries)
                #expect(t.byRequests.totalWeight == u.byRequests.totalWeight && t.byCost.totalWeight == u.byCost.totalWeight)
            }
            #expect(SnapshotCodec.encode(decoded, version: version) == bytes, "v\(version): decode then encode gives the same bytes")
        }
        let merged = try Snapshot.merged([second, first], collectorID: "rollup")
        let again = try Snapshot.merged([first, second], collectorID: "rollup")
        #expect(SnapshotCodec.encode(merged) == SnapshotCodec.encode(again), "merge order does not matter")
        let (truth, _) = exactTenants(a + b)
        for hitters in merged.heavyHitters {
            let tenants = try #require(hitters.tenants)
            checkBounds(tenants.byRequests, truth.requests[hitters.labels] ?? [:], "merged tenants by requests")
            checkBounds(tenants.byCost, truth.cost[hitters.labels] ?? [:], "merged tenants by cost")
        }
        let top = try #require(merged.heavyHitters[0].tenants?.topByRequests.first)
        let json = merged.jsonLine()
        let named = json.contains("\"tenant_tag\":\"tenant\""), ranked = json.contains("{\"tenant\":\"\(top.name)\",\"estimate\":")
        #expect(named && ranked, "the JSON line's tenant summaries, tenants by name")
    }

    /// A collector ranking tenants merges with one that does not: the slices keep the tenant
    /// summaries they have; the binary form marks a slice without them with tenant_key "".
    @Test func aSliceWithoutTenantsMergesAndEncodes() throws {
        let input = frames(4_000, seed: 51, windowStart: start)
        let (with, _) = try tenantSnapshot(input, capacity: 8)
        let (without, _) = try snapshot(frames(4_000, seed: 52, windowStart: start), capacity: 8, collector: "d")
        let merged = try Snapshot.merged([with, without], collectorID: "m")
        let withTenants = Set(with.heavyHitters.map(\.labels))
        for hitters in merged.heavyHitters {
            #expect((hitters.tenants != nil) == withTenants.contains(hitters.labels))
            if let t = hitters.tenants, let original = with.heavyHitters.first(where: { $0.labels == hitters.labels })?.tenants {
                #expect(t.byRequests.entries == original.byRequests.entries, "kept as it was")
            }
        }
        let decoded = try SnapshotCodec.decode(SnapshotCodec.encode(merged))
        #expect(decoded.heavyHitters.map { $0.tenants != nil } == merged.heavyHitters.map { $0.tenants != nil })

        var renamed = with
        for i in renamed.heavyHitters.indices { renamed.heavyHitters[i].tenants?.tagKey = "org" }
        renamed.collectorID = "e"
        renamed.sequences = [Snapshot.SequenceRange(collectorID: "e", first: 0, last: 0)]
        #expect(throws: SketchError.self, "different heavy-hitter tags do not merge") {
            try Snapshot.merged([with, renamed], collectorID: "x")
        }
    }

    /// With every tag a series dimension (no tag lists), the heavy-hitter tag is ranked too;
    /// without a capacity it is not read at all.
    @Test func theTagIsRankedUnderALegacyPolicyAndIgnoredWithoutHeavyHitters() throws {
        let input = frames(3_000, seed: 61, windowStart: start)
        let (legacy, counters) = try tenantSnapshot(input, capacity: 16, tags: TagPolicy(heavyHitterKey: "tenant"))
        #expect(counters.tagsDropped == 0)
        #expect(legacy.series.contains { $0.labels.tags.contains { $0.key == "tenant" } }, "tenant stays a series tag")
        let (truth, _) = exactTenants(input)
        #expect(Set(legacy.heavyHitters.map(\.labels)) == Set(truth.requests.keys), "a slice per slice with tenants")
        for hitters in legacy.heavyHitters {
            checkBounds(try #require(hitters.tenants).byRequests, truth.requests[hitters.labels] ?? [:], "legacy")
        }
        let (off, _) = try tenantSnapshot(input, capacity: 0)
        #expect(off.heavyHitters.isEmpty)
        #expect(SnapshotCodec.encode(off)[5] & (SnapshotCodec.heavyHittersFlag | SnapshotCodec.tenantsFlag) == 0)
    }

    /// One slice with known tenant summaries, its section ending in known bytes (version 2):
    /// the decoder refuses each way of breaking it.
    @Test func brokenTenantPartsAreRefused() throws {
        let users = try HeavyHitters(capacity: 2, totalWeight: 0, entries: [])
        let (acme, zeta) = ("acme", "zeta")
        let (ka, kz) = (IdentifierHash.hash(acme), IdentifierHash.hash(zeta))
        // Equal estimates: the order is by key, so the expected bytes follow the hashes.
        let byRequests = try HeavyHitters(capacity: 2, totalWeight: 6, entries: [
            .init(key: ka, estimate: 3, error: 0), .init(key: kz, estimate: 3, error: 0)])
        let byCost = try HeavyHitters(capacity: 2, totalWeight: 0, entries: [])
        let tenants = try TenantHeavyHitters(tagKey: "tenant", byRequests: byRequests, byCost: byCost, names: [ka: acme, kz: zeta])
        let snapshot = Snapshot(collectorID: "c", windowStartMicros: start, windowEndMicros: start + 10_000_000, sequence: 0,
                                sketches: SketchParameters(), series: [], counters: [:],
                                heavyHitters: [SliceHeavyHitters(labels: SeriesLabels(model: "m"), usersByRequests: users,
                                                                 usersByCost: users, tenants: tenants)])
        let bytes = SnapshotCodec.encode(snapshot)
        #expect(bytes[5] == SnapshotCodec.heavyHittersFlag | SnapshotCodec.tenantsFlag | SnapshotCodec.costUnitsFlag)
        let decoded = try #require(try SnapshotCodec.decode(bytes).heavyHitters.first?.tenants)
        #expect(decoded.topByRequests.map(\.name) == (ka < kz ? [acme, zeta] : [zeta, acme]))
        // The end: tenant_key ref, W = 6 (number 24), 2 entries, (name ref, 3 → 12, 0) twice, then
        // the cost part: W = 0, 0 entries.
        let n = bytes.count
        #expect(bytes[n - 11] != 0 && Array(bytes.suffix(10)) == [24, 2, bytes[n - 8], 12, 0, bytes[n - 5], 12, 0, 0, 0])
        func refused(_ change: (inout [UInt8]) -> Void) -> Bool {
            var broken = bytes
            change(&broken)
            do { _ = try SnapshotCodec.decode(broken); return false } catch { return true }
        }
        #expect(refused { $0[5] |= 32 }, "an unknown flag bit")
        #expect(refused { $0[5] = SnapshotCodec.costUnitsFlag }, "the cost-units flag without the heavy-hitter flag")
        #expect(refused { $0[5] &= ~SnapshotCodec.tenantsFlag }, "tenant parts without their flag: trailing bytes")
        #expect(refused { $0[5] = SnapshotCodec.tenantsFlag }, "the tenant flag without the heavy-hitter flag")
        #expect(refused { $0[n - 5] = $0[n - 8] }, "a tenant named twice")
        #expect(refused { ($0[n - 8], $0[n - 5]) = ($0[n - 5], $0[n - 8]) }, "equal estimates out of key order")
        #expect(refused { $0[n - 8] = 0 }, "an empty tenant name")
        #expect(refused { $0[n - 7] = 32 }, "an estimate (8) over W (6)")
        #expect(refused { $0.removeLast() }, "truncated")
        // tenant_key "" ends the slice's record: the two summaries become trailing bytes.
        #expect(refused { $0[n - 11] = 0 }, "tenant summaries after an empty tenant_key")
        #expect(!refused { _ in }, "the unbroken bytes read")
    }

    /// Two spellings of one name (U+212B ANGSTROM SIGN and "A" + U+030A: canonically equal,
    /// three UTF-8 bytes each, different hashes) are refused: written again they would share
    /// one string-table entry (SNAPSHOT.md, "Orders").
    @Test func aTenantSpelledTwiceIsRefused() throws {
        let (angstrom, other) = ("\u{212B}", "xyz")
        let (ka, ko) = (IdentifierHash.hash(angstrom), IdentifierHash.hash(other))
        let byRequests = try HeavyHitters(capacity: 2, totalWeight: 5, entries: [
            .init(key: ka, estimate: 3, error: 0), .init(key: ko, estimate: 2, error: 0)])
        let tenants = try TenantHeavyHitters(tagKey: "tenant", byRequests: byRequests, byCost: HeavyHitters(capacity: 2),
                                             names: [ka: angstrom, ko: other])
        let users = HeavyHitters(capacity: 2)
        let snapshot = Snapshot(collectorID: "c", windowStartMicros: start, windowEndMicros: start + 10_000_000, sequence: 0,
                                sketches: SketchParameters(), series: [], counters: [:],
                                heavyHitters: [SliceHeavyHitters(labels: SeriesLabels(model: "m"), usersByRequests: users,
                                                                 usersByCost: users, tenants: tenants)])
        var bytes = SnapshotCodec.encode(snapshot)
        #expect(try SnapshotCodec.decode(bytes).heavyHitters[0].tenants?.names == [ka: angstrom, ko: other])
        let xyz = Array("xyz".utf8), spelled = Array("A\u{30A}".utf8)
        #expect(spelled.count == 3 && "A\u{30A}" == angstrom, "canonically equal, as long")
        let at = try #require((0...(bytes.count - 3)).first { Array(bytes[$0..<$0 + 3]) == xyz })
        bytes.replaceSubrange(at..<at + 3, with: spelled)
        #expect(throws: SnapshotCodecError.self) { try SnapshotCodec.decode(bytes) }
    }
}
