import Testing
import TallyWire
@testable import TallyCore

/// Runs `frames` (all in the 10-s window at `windowStart`) through a started two-shard
/// engine with the test prices, shaped further by `configure`, stops it and returns the
/// window's snapshot (by `collector`, sequence 0) and the engine's counters.
func twoShardWindow(_ frames: [TraceFrame], windowStart: UInt64, collector: String = "c",
                    _ configure: (inout EngineConfiguration) -> Void) throws -> (Snapshot, EngineCounters) {
    let clock = ManualClock(windowStart + 500_000)
    var configuration = EngineConfiguration()
    configuration.shards = 2
    configuration.window = WindowPolicy(intervalMicros: 10_000_000, allowedLatenessMicros: 1_000_000,
                                        futureToleranceMicros: 60_000_000)
    configuration.prices = prices
    configure(&configuration)
    let engine = AggregationEngine(configuration: configuration, clock: { clock.now })
    let port = engine.makeIngestPort()
    engine.start()
    try ingest(port, try batches(frames))
    #expect(engine.stop())
    let windows = engine.collectSealedWindows()
    #expect(windows.count == 1)
    let counters = engine.counters
    let snapshot = try Snapshot.build(windows[0], collectorID: collector, sequence: 0, symbols: engine.symbols,
                                      sketches: configuration.sketches, counters: counters.named,
                                      cohortSummaries: configuration.cohortSummaries)
    return (snapshot, counters)
}
