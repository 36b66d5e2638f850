import Testing
import TallySketches
import TallySynthetic
import TallyWire
@testable import TallyCore

/// Aggregates frames through the real engine (1 window) and returns its snapshot.
func snapshot(of frames: [TraceFrame], collector: String, sequence: UInt64, shards: Int = 2,
              symbols: SymbolTable = SymbolTable(), allowEmpty: Bool = false, hllPrecision: Int? = nil) throws -> Snapshot {
    let start: UInt64 = 1_763_700_000_000_000
    var configuration = EngineConfiguration()
    configuration.shards = shards
    if let hllPrecision { configuration.sketches.hllPrecision = hllPrecision }
    configuration.prices = prices
    let engine = AggregationEngine(configuration: configuration, symbols: symbols, clock: { start + 1 })
    let port = engine.makeIngestPort()
    engine.start()
    try ingest(port, try batches(frames))
    #expect(engine.stop())
    var windows = engine.collectSealedWindows()
    if allowEmpty && windows.isEmpty {
        windows = [SealedWindow(startMicros: start, intervalMicros: configuration.window.intervalMicros, tables: [])]
    }
    #expect(windows.count == 1)
    return try Snapshot.build(windows[0], collectorID: collector, sequence: sequence, symbols: symbols,
                              sketches: configuration.sketches, counters: engine.counters.named)
}

func fleet(_ count: Int, seed: UInt64) -> [TraceFrame] {
    var rng = SplitMix64(seed: seed)
    var fleet = SyntheticFleet(tenants: 5, users: 3_000)
    fleet.routes = ["chat", "code"]
    fleet.languages = ["en"]
    fleet.tiers = ["pro"]
    return (0..<count).map { fleet.frame(eventTimeMicros: 1_763_700_000_000_000 + UInt64($0), &rng) }
}

@Suite struct SnapshotModelTests {
    @Test func buildsStringLabelsAndCounters() throws {
        let frames = fleet(3_000, seed: 1)
        let s = try snapshot(of: frames, collector: "c1", sequence: 7)
        #expect(s.requests == 3_000)
        #expect(s.counters["frames.accepted"] == 3_000 && s.counters["frames.aggregated"] == 3_000)
        #expect(s.counters["series.active"] == UInt64(s.series.count))
        #expect(s.sequences == [Snapshot.SequenceRange(collectorID: "c1", first: 7, last: 7)])
        #expect(s.windowEndMicros - s.windowStartMicros == 10_000_000)
        let distinctLabels = Set(frames.map { f in
            SeriesLabels(model: f.model, modelVersion: f.modelVersion ?? "", promptVersion: f.promptVersion ?? "",
                         route: f.route ?? "", ring: f.ring, tags: f.tags)
        })
        #expect(Set(s.series.map(\.labels)) == distinctLabels)
        #expect(zip(s.series, s.series.dropFirst()).allSatisfy { $0.labels < $1.labels }, "sorted")
        let errors = frames.filter { $0.errorClass != nil }.count
        #expect(s.series.reduce(0) { $0 + $1.errorClasses.values.reduce(0, +) } == UInt64(errors))
        #expect(s.series.allSatisfy { $0.aggregate.errorClasses.isEmpty })
    }

    /// Two collectors' snapshots of one window merge into the snapshot of all frames (exact fields).
    @Test func mergeOfCollectorsEqualsAggregatingEverything() throws {
        let frames = fleet(4_000, seed: 2)
        let a = try snapshot(of: Array(frames.prefix(1_500)), collector: "a", sequence: 1)
        let b = try snapshot(of: Array(frames.dropFirst(1_500)), collector: "b", sequence: 1, shards: 1)
        let all = try snapshot(of: frames, collector: "all", sequence: 1)
        let merged = try Snapshot.merged([a, b], collectorID: "rollup")
        let ba = try Snapshot.merged([b, a], collectorID: "rollup")
        #expect(merged.series.count == all.series.count)
        for (m, x) in zip(merged.series, all.series) {
            #expect(m.labels == x.labels)
            #expect(m.aggregate.requests == x.aggregate.requests && m.aggregate.statusCounts == x.aggregate.statusCounts)
            #expect(m.errorClasses == x.errorClasses && m.aggregate.safetyByKind == x.aggregate.safetyByKind)
            #expect(m.aggregate.totalLatency.count == x.aggregate.totalLatency.count)
            #expect(m.aggregate.totalLatency.min == x.aggregate.totalLatency.min)
            #expect(m.aggregate.totalLatency.max == x.aggregate.totalLatency.max)
            #expect(m.aggregate.cost.count == x.aggregate.cost.count && m.aggregate.unpriced == x.aggregate.unpriced)
        }
        #expect(merged.counters["frames.accepted"] == 4_000)
        #expect(merged.sequences.count == 2)
        // Deterministic whatever the order of the inputs.
        for (m, n) in zip(merged.series, ba.series) {
            #expect(m.aggregate.totalLatency.serialized() == n.aggregate.totalLatency.serialized())
        }
    }

    /// Snapshots written at p = 12 (before the upgrade) and at p = 14 merge at 12: every
    /// series' users and sessions are what counting all frames at p = 12 gives, and the
    /// result encodes and decodes.
    @Test func snapshotsOfDifferentHyperLogLogPrecisionsMergeAtTheSmaller() throws {
        let frames = fleet(6_000, seed: 4)
        let old = try snapshot(of: Array(frames.prefix(2_000)), collector: "a", sequence: 1, hllPrecision: 12)
        let new = try snapshot(of: Array(frames.dropFirst(2_000)), collector: "b", sequence: 1)
        #expect(old.sketches.hllPrecision == 12 && new.sketches.hllPrecision == 14)
        let all = try snapshot(of: frames, collector: "all", sequence: 1, hllPrecision: 12)
        let merged = try Snapshot.merged([new, old], collectorID: "rollup")
        #expect(merged.sketches.hllPrecision == 12 && merged.series.count == all.series.count)
        for (m, x) in zip(merged.series.sorted { $0.labels < $1.labels }, all.series) {
            #expect(m.labels == x.labels)
            for (a, b) in [(m.aggregate.users, x.aggregate.users), (m.aggregate.sessions, x.aggregate.sessions)] {
                #expect(a.precision == 12 && a.isExact == b.isExact && a.registerEstimate == b.registerEstimate, "\(m.labels)")
            }
        }
        let decoded = try SnapshotCodec.decode(SnapshotCodec.encode(merged))
        #expect(decoded.sketches.hllPrecision == 12 && decoded.series.count == merged.series.count)
    }

    @Test func overlappingSequencesAndMismatchedSketchesAreErrors() throws {
        let frames = fleet(100, seed: 3)
        let a = try snapshot(of: frames, collector: "a", sequence: 5)
        let again = try snapshot(of: frames, collector: "a", sequence: 5)
        #expect(throws: SketchError.self) { try Snapshot.merged([a, again], collectorID: "x") }
        var other = try snapshot(of: frames, collector: "b", sequence: 1)
        other.sketches.compression += 50
        #expect(throws: SketchError.self) { try Snapshot.merged([a, other], collectorID: "x") }
        let next = try snapshot(of: frames, collector: "a", sequence: 6)
        #expect(try Snapshot.merged([a, next], collectorID: "x").requests == 200, "consecutive windows roll up")
    }
}
