#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TallyCore
import TallyDaemon
import TallySynthetic
import TallyWire

/// The demo profile at a high rate: tallyd's own configuration from `Tools/demo.toml`
/// (breakdown keys, heavy hitters with the tenant tag, prices, the default memory budget),
/// with 10-second windows, folding COUNT frames of the demo fleet into one window through
/// a two-shard engine, as tallyd's ingest threads do (encoded batches, decoded,
/// resolved, pushed through the rings). 40,000,000 frames is the issue's "4 M frames/s
/// with 10-s windows". Prints resident growth after the fold and the flush's peak.
///
/// The fleet is `Tools/demo-fleet.toml` over tally-load's built-in profile (20 Zipf
/// tenants, 20,000 Zipf users, 4 languages, 3 tiers, a 10 % canary ring), without the
/// scheduled regression (it changes values, not which series, cohorts or slices exist).
/// Run from the repository's root (it reads `Tools/demo.toml`).
func demoMemory(_ count: Int) -> UInt64 {
    let before = residentBytes()
    var settings = DaemonConfiguration()
    guard let file = fopen("Tools/demo.toml", "r") else {
        print("memory-demo: run from the repository's root (Tools/demo.toml not found)")
        exit(2)
    }
    var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 4_096)
    while case let n = fread(&chunk, 1, chunk.count, file), n > 0 { bytes += chunk[..<n] }
    fclose(file)
    let text = String(decoding: bytes, as: UTF8.self)
    do {
        try settings.load(file: text)
        try settings.set("window_seconds", text: "10", field: "window_seconds")
        try settings.set("allowed_lateness_seconds", text: "2", field: "allowed_lateness_seconds")
        try settings.set("shards", text: "2", field: "shards")
        try settings.validate()
    } catch {
        print("memory-demo: \(error)")
        exit(2)
    }
    let configuration = settings.engine
    let windowStart: UInt64 = 1_763_700_000_000_000  // a multiple of 10 s
    let clock = Atomic<UInt64>(windowStart + 5_000_000)
    let engine = AggregationEngine(configuration: configuration, clock: { clock.load(ordering: .relaxed) })
    engine.start()
    let port = engine.makeIngestPort()

    var fleet = SyntheticFleet(tenants: 20, users: 20_000, tenantExponent: 1.1, userExponent: 0.9)
    fleet.canaryShare = 0.1
    fleet.errorRate = 0.002
    fleet.timeoutRate = 0.0005
    fleet.promptVersions = ["p-2024.11", "p-2024.12"]
    fleet.routes = ["chat", "summarize", "code", "agent"]
    fleet.regions = []
    fleet.languages = ["en", "de", "fr", "es"]
    fleet.tiers = ["free", "pro", "enterprise"]
    fleet.safetySeverityWeights = [6, 3, 1, 0]
    var rng = SplitMix64(seed: 404)
    let encoder = BatchEncoder(capacity: 65_536, producerID: 1)
    let decoder = BatchDecoder()
    var sent = 0, sequence: UInt64 = 0
    var pending: TraceFrame? = nil
    while sent < count {
        encoder.reset()
        if let frame = pending { _ = try! encoder.append(frame); sent += 1; pending = nil }
        while sent < count {
            let frame = fleet.frame(eventTimeMicros: windowStart + UInt64(sent) * 10_000_000 / UInt64(count), &rng)
            if try! encoder.append(frame) { sent += 1 } else { pending = frame; break }
        }
        port.ingest(try! decoder.decode(encoder.finish(sequence: sequence)))
        sequence += 1
    }
    // Wait until the shards have taken every frame (nothing is dropped under `.wait`).
    while engine.counters.aggregated + engine.counters.totalDropped < UInt64(count) { usleep(10_000) }
    let folded = residentBytes() - before
    let c = engine.counters
    print("memory-demo: \(count) frames into one 10-s window, \(configuration.shards) shards, budget \(settings.memoryBudgetMiB) MiB (tables \(configuration.memoryLimitBytes >> 20) MiB)")
    print("  after the fold: resident +\(folded / 1_048_576) MiB; the tables' account \(c.memoryBytes / 1_048_576) MiB; dropped \(c.totalDropped), folded for memory \(c.foldedForMemory), histograms refused \(c.histogramsRefused), cohorts refused \(c.cohortsRefused), heavy-hitter slices refused \(c.heavyHittersRefused), tags dropped \(c.tagsDropped)")

    // Seal: the clock passes the window's seal time; the flusher collects and builds.
    clock.store(windowStart + 13_000_000, ordering: .relaxed)
    var windows: [SealedWindow] = []
    while windows.isEmpty {
        usleep(10_000)
        windows = engine.collectSealedWindows()
    }
    resetPeakResidentBytes()
    let sealed = residentBytes()
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    let started = Double(now.tv_sec) * 1e6 + Double(now.tv_nsec) / 1e3
    let snapshot = try! Snapshot.build(windows[0], collectorID: "kernel", sequence: 0, symbols: engine.symbols,
                                       sketches: configuration.sketches, counters: [:],
                                       cohortSummaries: configuration.cohortSummaries)
    let encoded = SnapshotCodec.encode(snapshot)
    clock_gettime(CLOCK_MONOTONIC, &now)
    let micros = Double(now.tv_sec) * 1e6 + Double(now.tv_nsec) / 1e3 - started
    let peak = peakResidentBytes() - before
    let entries = snapshot.series.count + snapshot.cohorts.count
    let ringBytes = configuration.ringCapacity * MemoryLayout<FrameRecord>.stride * configuration.shards
    print("  the tables' account: \(c.memoryBytes) B, \(Int(c.memoryBytes) / max(entries, 1)) B an entry (series or cohort aggregate, heavy-hitter slices included); one ingest port's rings \(ringBytes / 1_048_576) MiB")
    print("  window: \(windows[0].frames) frames, \(snapshot.series.count) series, \(snapshot.cohorts.count) cohort aggregates, \(snapshot.heavyHitters.count) heavy-hitter slices")
    print("  flush: \(Int(micros / 1_000)) ms (\(Int(micros) / max(entries, 1)) µs an entry), \(encoded.count) bytes (\(Double(encoded.count * 1_000 / max(count, 1)) / 1_000) B a frame); resident at the seal +\((sealed - before) / 1_048_576) MiB, peak through the flush +\(peak / 1_048_576) MiB")
    engine.stop()
    return UInt64(encoded.count)
}
