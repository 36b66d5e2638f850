import Testing
import TallyWire
@testable import TallyCore

/// Issue 18: when one producer floods a window with new keys up to the series cap, a
/// well-behaved producer whose frames arrive later in that window keeps its own series;
/// the flood's keys are the ones that fold, and folds are counted per producer.
@Suite(.serialized) struct SeriesCapFairnessTests {
    let start: UInt64 = 1_763_700_000_000_000  // a multiple of 10 s

    func engine(maxSeries: Int) -> (AggregationEngine, IngestPort) {
        startedOneShardEngine(start: start) { $0.maxSeriesPerShardWindow = maxSeries }
    }

    @Test func aFloodingProducerFoldsItsOwnKeysAndTheOthersKeepTheirSeries() throws {
        let (engine, port) = engine(maxSeries: 400)
        let flooder: UInt64 = 0xF100D, polite: UInt64 = 0xB0B
        // A fleet member the collector already hears from (one frame of one key)…
        let early = [TraceFrame(eventTimeMicros: start, model: "chat-0", totalLatencyMicros: 20)]
        try ingest(port, try batches(early, producer: polite))
        // …then a flood of 2,000 distinct keys, 5 times the cap…
        let flood = (0..<2_000).map { i in
            TraceFrame(eventTimeMicros: start + UInt64(i), model: "flood-\(i)", totalLatencyMicros: 10)
        }
        try ingest(port, try batches(flood, producer: flooder))
        // …and later in the same window the fleet member's 20 keys, 5 frames each.
        let politeFrames = (0..<100).map { i in
            TraceFrame(eventTimeMicros: start + 5_000 + UInt64(i), model: "chat-\(i % 20)", totalLatencyMicros: 20)
        }
        try ingest(port, try batches(politeFrames, producer: polite))
        #expect(engine.stop())
        let windows = engine.collectSealedWindows()
        #expect(windows.count == 1)
        let table = try #require(windows.first?.tables.first)

        // The fleet member's 20 keys are each their own series with all their frames.
        for i in 0..<20 {
            let key = SeriesKey(model: engine.symbols.intern("chat-\(i)"))
            let aggregate = try #require(table.aggregate(key), "chat-\(i) was folded")
            #expect(aggregate.requests == (i == 0 ? 6 : 5))
        }
        // The flooder got the rest of the first-come half (199), then one more within its
        // share (400 ÷ 2 producers = 200), and no more: everything else of it folded, and is
        // counted against it.
        let floodSeries = table.keys.filter { engine.symbols.string($0.model).hasPrefix("flood-") }.count
        #expect(table.sharedSeries == 200)
        #expect(floodSeries == 200)
        #expect(table.seriesCount == 1 + 200 + 19 + 1, "the polite key, the flooder's share, 19 later keys, the overflow series")
        let counters = engine.counters
        #expect(counters.folded == UInt64(2_000 - floodSeries))
        #expect(counters.foldedByProducer == [flooder: UInt64(2_000 - floodSeries)])
        #expect(counters.accepted == 2_101 && counters.aggregated == 2_101)
    }

    @Test func aSingleProducerMayFillTheWholeCap() throws {
        let (engine, port) = engine(maxSeries: 400)
        let frames = (0..<1_000).map { i in
            TraceFrame(eventTimeMicros: start + UInt64(i), model: "m-\(i)", totalLatencyMicros: 10)
        }
        try ingest(port, try batches(frames, producer: 7))
        #expect(engine.stop())
        let table = try #require(engine.collectSealedWindows().first?.tables.first)
        #expect(table.seriesCount == 401, "the reserve is not kept from the only producer")
        #expect(engine.counters.foldedByProducer == [7: 600])
    }

    @Test func theReserveIsSharedFairlyBetweenProducersPastTheirShare() throws {
        // Three producers each with many keys, interleaved batch by batch: none takes
        // more than the first-come part plus a fair share of the rest.
        let (engine, port) = engine(maxSeries: 300)
        for round in 0..<10 {
            for producer in UInt64(1)...3 {
                let frames = (0..<50).map { i in
                    TraceFrame(eventTimeMicros: start + UInt64(round * 1_000 + i), model: "p\(producer)-r\(round)-\(i)",
                               totalLatencyMicros: 10)
                }
                try ingest(port, try batches(frames, producer: producer))
            }
        }
        #expect(engine.stop())
        let table = try #require(engine.collectSealedWindows().first?.tables.first)
        #expect(table.seriesCount == 301)
        for producer in 1...3 {
            let owned = table.keys.filter { engine.symbols.string($0.model).hasPrefix("p\(producer)-") }.count
            #expect(owned == 100, "producer \(producer) holds \(owned) of 300 series")
        }
        let folded = engine.counters.foldedByProducer
        #expect(folded[1] == 400 && folded[2] == 400 && folded[3] == 400)
    }
}
