import Testing
import TallyWire
@testable import TallyCore

/// Late and future frames are counted per producer (the batch header's producer id), so
/// that a load tester can account for each frame it sent: `producer.<id>.late` and
/// `.future` in tallyd.
@Suite struct ProducerDropCountTests {
    let start: UInt64 = 1_763_700_000_000_000  // a multiple of 10 s

    @Test func lateAndFutureFramesAreCountedAgainstTheirProducer() throws {
        // 10-s windows, 1 s of lateness and of future tolerance, the clock at start + 0.5 s:
        // a frame of the window before last is late, one past start + 1.5 s is future.
        let (engine, port) = startedOneShardEngine(start: start) { _ in }
        let late = start - 15_000_000, future = start + 5_000_000, current = start + 100
        func frames(_ times: [UInt64]) -> [TraceFrame] {
            times.map { TraceFrame(eventTimeMicros: $0, model: "chat", totalLatencyMicros: 10) }
        }
        try ingest(port, try batches(frames([late, current, future, late, current, late, future, current]), producer: 0xA))
        try ingest(port, try batches(frames([late, late, current, late, late]), producer: 0xB))
        try ingest(port, try batches(frames([current, current]), producer: 0xC))
        #expect(engine.stop())
        let counters = engine.counters
        #expect(counters.dropped[EngineDropReason.late.rawValue] == 7)
        #expect(counters.dropped[EngineDropReason.future.rawValue] == 2)
        #expect(counters.lateByProducer == [0xA: 3, 0xB: 4])
        #expect(counters.futureByProducer == [0xA: 2])
        #expect(counters.accepted == 15 && counters.aggregated == 6, "in their window: 3 of A's, 1 of B's, 2 of C's")
    }
}
