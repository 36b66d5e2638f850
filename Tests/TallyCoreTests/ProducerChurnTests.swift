import Glibc
import Testing
import TallyWire
@testable import TallyCore

/// Fair shares divide by the producers active now, not by every producer ever heard
/// from: a fleet whose processes take a new producer id at each restart (the client's
/// default) must not shrink everyone's share towards nothing.
@Suite(.serialized) struct ProducerChurnTests {
    let start: UInt64 = 1_763_700_000_000_000  // a multiple of 10 s

    @Test func producersStopCountingAHorizonAfterTheirLastBatch() {
        let directory = ProducerDirectory(activeHorizonMicros: 60_000_000)
        let a = directory.number(of: 0xA, nowMicros: 1_000_000)
        let b = directory.number(of: 0xB, nowMicros: 2_000_000)
        #expect(directory.number(of: 0, nowMicros: 2_000_000) == ProducerDirectory.unnumbered)
        directory.touch(ProducerDirectory.unnumbered, of: 0, nowMicros: 2_000_000)
        #expect(directory.active == 2 && directory.count == 2, "id 0 is not counted")
        directory.retireIdle(nowMicros: 61_500_000)  // a idle 60.5 s, b 59.5 s
        #expect(directory.active == 1)
        directory.touch(a, of: 0xA, nowMicros: 62_000_000)
        directory.touch(a, of: 0xA, nowMicros: 62_500_000)
        #expect(directory.active == 2, "a counts again, once")
        directory.retireIdle(nowMicros: 122_600_000)  // a idle 60.1 s, b 120.6 s
        #expect(directory.active == 0 && directory.count == 2, "numbers are kept")
        #expect(directory.number(of: 0xB, nowMicros: 130_000_000) == b && directory.active == 1,
                "a batch of b: active again, under its old number")
        #expect(directory.producerID(of: a) == 0xA)
        #expect(ProducerDirectory.activeHorizon(for: WindowPolicy(intervalMicros: 60_000_000, allowedLatenessMicros: 5_000_000,
                                                                  futureToleranceMicros: 1_000_000)) == 130_000_000)
    }

    /// 50 producers send a frame each and go quiet (a fleet that restarted); a minute and a
    /// bit later, with those windows collected, only the producers sending now share.
    func engineAfterChurn(_ configure: (inout EngineConfiguration) -> Void) throws
        -> (AggregationEngine, IngestPort, base: UInt64) {
        let clock = ManualClock(start + 500_000)
        let (engine, port) = startedOneShardEngine(start: start, clock: clock, configure)
        for producer in 1...50 {
            try ingest(port, try batches([TraceFrame(eventTimeMicros: start, model: "old-\(producer)", totalLatencyMicros: 5)],
                                         producer: UInt64(0x1000 + producer)))
        }
        #expect(engine.counters.producersActive == 50)
        // Placed before the clock moves on, or they would be late and open no window.
        #expect(waitUntilAggregated(engine, 50))
        clock.advance(61_000_000)
        #expect(collectSealed(engine).count == 1, "the old producers' window was sealed and collected")
        #expect(engine.counters.producersActive == 0 && engine.producers.count == 50)
        return (engine, port, start + 60_000_000)
    }

    /// The flood-and-polite exchange of `EngineMemoryTests`, after the churn: the polite
    /// producer's 21 series all fit (divided by the 52 producers ever heard from, its share
    /// would be 7 series).
    @Test func theMemoryShareDividesByTheProducersActive() throws {
        let (engine, port, base) = try engineAfterChurn { $0.memoryLimitBytes = 400 * EngineMemory.oneFrameSeriesBytes }
        let (_, floodSeries) = try floodThenPolite(engine, port, base: base, flooder: 0xF100D, polite: 0xB0B,
                                                   floodKeys: 1_000, politeKeys: 21)
        #expect(floodSeries == 200, "the flood stops at half the limit")
        #expect(engine.counters.producersActive == 2)
        #expect(engine.counters.foldedByProducer == [0xF100D: UInt64(1_000 - floodSeries)])
    }

    /// The same for a window's series cap (its share would be 7 series too).
    @Test func theSeriesCapShareDividesByTheProducersActive() throws {
        let (engine, port, base) = try engineAfterChurn { $0.maxSeriesPerShardWindow = 400 }
        let (_, floodSeries) = try floodThenPolite(engine, port, base: base, flooder: 0xF100D, polite: 0xB0B,
                                                   floodKeys: 2_000, politeKeys: 20)
        #expect(floodSeries == 200)
        #expect(engine.counters.foldedByProducer == [0xF100D: UInt64(2_000 - floodSeries)])
    }
}
