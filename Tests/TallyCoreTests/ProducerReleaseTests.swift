import Glibc
import Testing
import TallyWire
@testable import TallyCore

/// Producers idle for minutes are released from the directory and their numbers recycled:
/// a fleet whose processes take a new producer id at each restart must not fill the
/// directory's 4,096 numbers and leave every later producer sharing `unnumbered`'s one
/// fair share; and a recycled number must not carry its old producer's counts.
@Suite(.serialized) struct ProducerReleaseTests {
    let start: UInt64 = 1_763_700_000_000_000  // a multiple of 10 s

    @Test func releasedNumbersGoToTheNextNewProducers() {
        let directory = ProducerDirectory(capacity: 2, activeHorizonMicros: 60_000_000, releaseAfterMicros: 120_000_000)
        let a = directory.number(of: 0xA, nowMicros: 1_000_000)
        let b = directory.number(of: 0xB, nowMicros: 2_000_000)
        #expect(a != b && a != ProducerDirectory.unnumbered && b != ProducerDirectory.unnumbered)
        #expect(directory.number(of: 0xC, nowMicros: 3_000_000) == ProducerDirectory.unnumbered, "full")
        #expect(directory.releaseIdle(nowMicros: 100_000_000).isEmpty, "nobody idle for 120 s yet")
        #expect(directory.touch(b, of: 0xB, nowMicros: 50_000_000))
        #expect(directory.releaseIdle(nowMicros: 121_500_000) == [.init(number: a, producer: 0xA)],
                "a idle 120.5 s, b 71.5 s")
        #expect(directory.count == 1 && directory.producerID(of: a) == 0)
        #expect(!directory.touch(a, of: 0xA, nowMicros: 122_000_000), "a's number is no longer a's")
        #expect(directory.touch(ProducerDirectory.unnumbered, of: 0xC, nowMicros: 122_000_000),
                "no room until the number is recycled")
        #expect(directory.number(of: 0xC, nowMicros: 122_000_000) == ProducerDirectory.unnumbered)

        directory.recycle([a])
        directory.recycle([a])  // twice: still one producer gets it
        #expect(!directory.touch(ProducerDirectory.unnumbered, of: 0xC, nowMicros: 123_000_000), "room now")
        #expect(directory.number(of: 0xC, nowMicros: 123_000_000) == a)
        #expect(directory.producerID(of: a) == 0xC && directory.count == 2)
        #expect(directory.number(of: 0xD, nowMicros: 123_000_000) == ProducerDirectory.unnumbered,
                "the number was handed out once")
        #expect(directory.number(of: 0xA, nowMicros: 124_000_000) == ProducerDirectory.unnumbered,
                "a released producer coming back is a new one (and the directory is full)")

        // b is idle long enough, but its number is kept while it holds something.
        #expect(directory.releaseIdle(nowMicros: 400_000_000, keeping: [b]) == [.init(number: a, producer: 0xC)])
        #expect(directory.producerID(of: b) == 0xB)
        #expect(directory.releaseIdle(nowMicros: 400_000_000) == [.init(number: b, producer: 0xB)])
        #expect(directory.active == 0 && directory.count == 0)
        #expect(ProducerDirectory().releaseIdle(nowMicros: .max).isEmpty, "never, by default")
        #expect(ProducerDirectory.releaseAfter(for: WindowPolicy(intervalMicros: 10_000_000, allowedLatenessMicros: 1_000_000,
                                                                 futureToleranceMicros: 1_000_000)) == 72_000_000)
    }

    /// 30 frames of 30 new models from `producer` at `eventTime`: with a cap of 10 series a
    /// window, 20 fold.
    func thirtyModels(_ port: IngestPort, producer: UInt64, eventTime: UInt64, prefix: String) throws {
        try ingest(port, try batches((0..<30).map { TraceFrame(eventTimeMicros: eventTime, model: "\(prefix)-\($0)", totalLatencyMicros: 5) },
                                     producer: producer))
    }

    /// Producer A folds 20 frames and goes quiet. Past the release delay (72 s with these
    /// windows), once its window's table is freed, its number is released: its folds are
    /// reported under producer id 0 (`producer.other`), its symbols are no longer its, and
    /// when it comes back on the same port it starts from 0 under a number of its own.
    @Test func anIdleProducersCountsMoveToOtherAndItsNumberStartsAfresh() throws {
        let clock = ManualClock(start + 500_000)
        let (engine, port) = startedOneShardEngine(start: start, clock: clock) {
            $0.maxSeriesPerShardWindow = 10
            $0.memoryLimitBytes = 64 << 20  // bytes counted per producer number
        }
        defer { _ = engine.stop() }
        try thirtyModels(port, producer: 0xA, eventTime: start, prefix: "a")
        let a = engine.producers.number(of: 0xA, nowMicros: clock.now)
        #expect(engine.symbols.held(by: a) == 30)

        #expect(waitUntilAggregated(engine, 30))
        clock.advance(80_000_000)
        var window: [SealedWindow]? = collectSealed(engine)
        #expect(window?.first?.startMicros == start)
        #expect(engine.counters.foldedByProducer == [0xA: 20])
        _ = engine.collectSealedWindows()
        #expect(engine.takeReleasedProducers().isEmpty, "its sealed table is not freed yet: its bytes are still a's")
        #expect(engine.producers.producerID(of: a) == 0xA)

        window = nil  // the flusher is done with it: the table is freed, its bytes given back
        #expect(engine.memory.bytesByProducer.isEmpty)
        _ = engine.collectSealedWindows()
        #expect(engine.takeReleasedProducers() == [0xA])
        #expect(engine.takeReleasedProducers().isEmpty, "taken once")
        #expect(engine.counters.foldedByProducer == [0: 20], "a's folds are under producer id 0 now")
        #expect(engine.producers.producerID(of: a) == 0 && engine.counters.producersActive == 0)
        #expect(engine.symbols.held(by: a) == 0)

        // A comes back on the same port (its last producer): the port finds its number gone.
        let back = start + 80_000_000
        try thirtyModels(port, producer: 0xA, eventTime: back, prefix: "a-again")
        #expect(engine.producers.producerID(of: a) == 0xA && engine.counters.producersActive == 1,
                "the port looked a up again and got the recycled number")
        #expect(engine.symbols.held(by: a) == 30, "only the symbols it added since")
        #expect(waitUntilAggregated(engine, 60))  // before b is active: a's share is the whole cap
        try thirtyModels(port, producer: 0xB, eventTime: back, prefix: "b")
        #expect(engine.producers.producerID(of: a) == 0xA && engine.counters.producersActive == 2,
                "b has a number of its own")

        #expect(waitUntilAggregated(engine, 90))
        clock.advance(20_000_000)
        _ = collectSealed(engine)
        #expect(engine.counters.foldedByProducer == [0: 20, 0xA: 20, 0xB: 30], "a's 20 folds of the first window are not a's")
    }

    /// A released producer's symbols stop counting against its number's share.
    @Test func disownedSymbolsLeaveTheRecycledNumbersShare() {
        let symbols = SymbolTable(maxSymbols: 8)
        for i in 0..<6 { _ = symbols.intern("s\(i)", producer: 1, producersActive: 2) }
        #expect(symbols.held(by: 1) == 4, "the first half first come; then its share of 8 / 2 is full")
        #expect(symbols.intern("t0", producer: 1, producersActive: 2) == SymbolTable.overflow)
        symbols.disown([1])
        #expect(symbols.held(by: 1) == 0 && symbols.held(by: SymbolTable.releasedOwner) == 4)
        #expect(symbols.intern("t0", producer: 1, producersActive: 2) != SymbolTable.overflow, "number 1's next producer")
        #expect(symbols.held(by: 1) == 1)
        #expect(symbols.intern("s0", producer: 2, producersActive: 2) != SymbolTable.overflow, "still there")
    }
}
