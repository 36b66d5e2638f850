#if canImport(Glibc)
import Glibc
#endif
import Testing
import TallyWire
@testable import TallyCore

/// Issue 18: the window tables hold at most their share of the memory budget, counted at
/// each series' worst case; what does not fit folds into the overflow series, counted, and
/// nothing is lost. Freed tables give their bytes back.
@Suite struct EngineMemoryTests {
    static func record(_ key: SeriesKey, _ n: Int) -> FrameRecord {
        FrameRecord(key: key, routingHash: key.routingHash, eventTimeMicros: 0, values: FrameValues(
            userHash: UInt64(n), sessionHash: 1, cost: 0.5, queueTimeMicros: 10, timeToFirstTokenMicros: 20,
            totalLatencyMicros: 100, inputTokens: 5, outputTokens: 3, cachedInputTokens: 0, errorClass: 0,
            categoryID: 2, safetyKinds: [], status: .ok, outcome: OutcomeBits(task: .success), safetySeverity: .none))
    }

    @Test func seriesThatDoNotFitFoldAndFreedTablesGiveTheirBytesBack() throws {
        let one = EngineMemory.oneFrameSeriesBytes, promoted = EngineMemory.promotedSeriesBytes
        // Room for 100 one-frame series of which 10 get a second frame.
        let memory = EngineMemory(limitBytes: 100 * one + 10 * promoted)
        var table: WindowTable? = WindowTable(startMicros: 0, maxSeries: 1_000, sketches: SketchParameters(), memory: memory)
        // Three passes over 100 keys: every key's first frame, then second and third frames.
        for n in 0..<3 {
            for k in 0..<100 { table!.add(Self.record(SeriesKey(model: UInt32(k + 10)), n)) }
        }
        do {
            let t = try #require(table)
            #expect(t.seriesCount == 101, "every key admitted, and the overflow series")
            #expect(t.foldedForMemory == 180 && t.foldedFrames == 180, "90 series had no room for a block")
            for k in 0..<100 {
                #expect(t.aggregate(SeriesKey(model: UInt32(k + 10)))?.requests == (k < 10 ? 3 : 1))
            }
            #expect(t.aggregate(.overflow)?.requests == 180)
            #expect(t.frames == 300)
            // The overflow series is outside the limit (one a table).
            #expect(memory.usedBytes == 100 * one + 10 * promoted)
            #expect(!memory.reserve(one, producer: 0), "full: a new key folds")
        }
        table = nil
        #expect(memory.usedBytes == 0, "a freed table releases what it reserved")
        #expect(memory.reserve(one, producer: 0))
    }

    /// A series reserves its worst case in steps: a one-frame series' bytes, its block at its
    /// second frame, the rest of a busy series when its aggregate is built at its 31st. Refused
    /// then, it keeps its 30 frames for the rest of the window (even once room frees) and its
    /// later frames fold, none lost.
    @Test func aSeriesReservesInStepsAndIsCappedWhenItsAggregateDoesNotFit() throws {
        let one = EngineMemory.oneFrameSeriesBytes, promoted = EngineMemory.promotedSeriesBytes
        let busy = EngineMemory.busySeriesBytes
        #expect(promoted >= PromotedBlockPool.blockBytes)
        let memory = EngineMemory(limitBytes: 2 * one + 2 * busy)
        let table = WindowTable(startMicros: 0, maxSeries: 10, sketches: SketchParameters(), memory: memory)
        let a = SeriesKey(model: 10), b = SeriesKey(model: 11)
        table.add(Self.record(a, 0))
        #expect(memory.usedBytes == one)
        table.add(Self.record(a, 1))
        #expect(memory.usedBytes == one + promoted, "the second frame: the block only")
        for n in 2..<30 { table.add(Self.record(a, n)) }
        #expect(memory.usedBytes == one + promoted, "30 frames: still stashed")
        table.add(Self.record(a, 30))
        #expect(memory.usedBytes == one + busy, "the 31st: the aggregate")
        #expect(table.aggregate(a)?.requests == 31 && table.foldedFrames == 0)

        // b's aggregate finds no room (another holder took it): b is capped at 30 frames.
        table.add(Self.record(b, 0))
        #expect(memory.reserve(busy - promoted, producer: 1), "another holder takes the room left but b's block")
        for n in 1..<40 { table.add(Self.record(b, n)) }
        #expect(memory.usedBytes == 2 * one + 2 * busy, "full")
        #expect(table.aggregate(b)?.requests == 30)
        #expect(table.foldedForMemory == 10 && table.foldedFrames == 10, "its 31st to 40th frames folded")
        memory.release(busy - promoted, byProducer: [1: busy - promoted])
        for n in 40..<50 { table.add(Self.record(b, n)) }
        #expect(table.aggregate(b)?.requests == 30, "capped for the window, though room freed")
        #expect(table.foldedForMemory == 20 && memory.usedBytes == 2 * one + busy + promoted)
        #expect(table.aggregate(.overflow)?.requests == 20)
        #expect(table.frames == 31 + 50, "none lost")
        #expect(memory.reserve(busy - promoted, producer: 1), "full again")
        for n in 50..<70 { table.add(Self.record(b, n)) }
        #expect(table.aggregate(.overflow)?.requests == 40, "the overflow series builds its aggregate outside the limit")
        #expect(memory.usedBytes == 2 * one + 2 * busy)
    }

    /// A series refused its aggregate stays at its first frame for the rest of the window,
    /// even once room frees (its later frames fold without taking the memory's lock); a
    /// series asking for the first time then gets the room.
    @Test func aSeriesRefusedItsAggregateStaysRefusedForTheWindow() throws {
        let one = EngineMemory.oneFrameSeriesBytes, busy = EngineMemory.busySeriesBytes
        let memory = EngineMemory(limitBytes: 2 * one + busy)
        let table = WindowTable(startMicros: 0, maxSeries: 10, sketches: SketchParameters(), memory: memory)
        let a = SeriesKey(model: 10), b = SeriesKey(model: 11)
        table.add(Self.record(a, 0))
        table.add(Self.record(b, 0))
        #expect(memory.reserve(busy, producer: 1), "another holder takes the rest")
        table.add(Self.record(a, 1))
        #expect(table.foldedForMemory == 1, "no room: a's second frame folds")
        memory.release(busy, byProducer: [1: busy])
        table.add(Self.record(a, 2))
        table.add(Self.record(b, 1))
        #expect(table.foldedForMemory == 2, "a stays refused in this window")
        #expect(table.aggregate(a)?.requests == 1 && table.aggregate(b)?.requests == 2, "b got the freed room")
        #expect(table.aggregate(.overflow)?.requests == 2)
    }

    static let start: UInt64 = 1_763_700_000_000_000
    var start: UInt64 { Self.start }

    static func startedEngine(memoryLimit: Int) -> (AggregationEngine, IngestPort) {
        startedOneShardEngine(start: start) { $0.memoryLimitBytes = memoryLimit }
    }

    @Test func theEngineReportsItsMemoryAndFoldsPastItsLimit() throws {
        let (engine, port) = Self.startedEngine(memoryLimit: 1_000 * EngineMemory.oneFrameSeriesBytes)
        let frames = (0..<2_000).map { i in
            TraceFrame(eventTimeMicros: start + UInt64(i), model: "m-\(i)", totalLatencyMicros: 10)
        }
        try ingest(port, try batches(frames))
        #expect(engine.stop())
        var windows: [SealedWindow]? = engine.collectSealedWindows()
        let counters = engine.counters
        #expect(counters.aggregated == 2_000, "folded frames are aggregated, in the overflow series")
        #expect(counters.foldedForMemory == 1_000 && counters.folded == 1_000)
        #expect(counters.memoryLimitBytes == UInt64(1_000 * EngineMemory.oneFrameSeriesBytes))
        #expect(counters.memoryBytes > 0)
        #expect(counters.named["frames.folded_memory"] == 1_000)
        #expect(windows?.first?.tables.first?.seriesCount == 1_001)
        windows = nil
        #expect(engine.counters.memoryBytes == 0, "the flushed window's tables are freed")
    }

    @Test func windowsSealedOnTheClockGiveTheirBytesBackOnceCollected() throws {
        var configuration = EngineConfiguration()
        configuration.shards = 2
        configuration.memoryLimitBytes = 64 << 20
        configuration.window = WindowPolicy(intervalMicros: 1_000_000, allowedLatenessMicros: 500_000,
                                            futureToleranceMicros: 1_000_000)
        let clock = ManualClock(start)
        let engine = AggregationEngine(configuration: configuration, clock: { clock.now })
        let port = engine.makeIngestPort()
        engine.start()
        defer { engine.stop() }
        for second in 0..<5 {
            let base = start + UInt64(second) * 1_000_000
            let frames = (0..<3_000).map { i in
                TraceFrame(eventTimeMicros: base + UInt64(i), model: "m-\(i % 1_000)", totalLatencyMicros: 10)
            }
            try ingest(port, try batches(frames))
            clock.advance(1_000_000)
            var collected = 0, spins = 0
            while collected == 0 && spins < 5_000 {
                collected = engine.collectSealedWindows().count  // collected, then freed at once
                if collected == 0 { usleep(1_000); spins += 1 }
            }
            if second > 0 { #expect(collected > 0, "window \(second - 1) sealed") }
        }
        // At most the two windows still open (the current and the one in its lateness) hold bytes.
        let held = engine.counters.memoryBytes
        #expect(held <= 2 * 2_000 * UInt64(EngineMemory.busySeriesBytes), "held \(held) B")
    }

    /// A producer whose new keys fill the tables is stopped at ½ of the limit, or at its
    /// share if that is more; a producer below its share (the limit ÷ the producers known)
    /// still gets its series. The engine reports what each producer holds.
    @Test func theSecondHalfIsKeptForProducersBelowTheirShare() throws {
        let (engine, port) = Self.startedEngine(memoryLimit: 400 * EngineMemory.oneFrameSeriesBytes)
        let flooder: UInt64 = 0xF100D, polite: UInt64 = 0xB0B
        let (table, floodSeries) = try floodThenPolite(engine, port, base: start, flooder: flooder, polite: polite,
                                                   floodKeys: 1_000, politeKeys: 21)
        // ½ of the limit is 200 series, one of them the polite producer's; the flooder's
        // 200th is within its share (400 ÷ 2 producers), its 201st is not.
        #expect(floodSeries == 200, "the flood stops at its share, half the limit")
        let counters = withExtendedLifetime(table) { engine.counters }  // read before the table gives its bytes back
        #expect(counters.memoryBytesByProducer == [flooder: UInt64(200 * EngineMemory.oneFrameSeriesBytes),
                                                   polite: UInt64(21 * EngineMemory.oneFrameSeriesBytes)])
        #expect(counters.foldedByProducer == [flooder: UInt64(1_000 - floodSeries)])
        #expect(counters.foldedForMemory == UInt64(1_000 - floodSeries))
    }
}
