import Testing
import TallySynthetic
import TallyWire
@testable import TallyCore

/// A port whose first batch is empty (no frames, no strings: valid per FORMAT.md). The
/// resolver's tables were allocated only for a batch with strings, so this trapped on a
/// nil table (found by the `journal` fuzz target, which replays batches through the same
/// resolver); one empty batch as a producer's first would have stopped a collector.
@Suite struct EmptyBatchTests {
    @Test func anEmptyFirstBatchIsTakenAndTheNextIsAggregated() throws {
        let start: UInt64 = 1_763_700_000_000_000
        let (engine, port) = startedOneShardEngine(start: start) { _ in }
        let encoder = BatchEncoder(capacity: 4_096, producerID: 3)
        let empty = Array(encoder.finish(sequence: 0))
        try ingest(port, [empty])
        var rng = SplitMix64(seed: 5)
        let frames = (0..<10).map { _ in SyntheticFleet(tenants: 1, users: 5).frame(eventTimeMicros: start + 100, &rng) }
        try ingest(port, try batches(frames))
        #expect(engine.stop())
        let windows = engine.collectSealedWindows()
        #expect(windows.reduce(0) { $0 + $1.frames } == 10)
        #expect(engine.counters.accepted == 10)
    }
}
