#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization
import Testing
import TallyWire
@testable import TallyCore

/// Issue 18, "symbols with a lifetime": a symbol is released once no window table, ring or
/// batch can refer to it, so no sequence of input fills the table for good; a string in use
/// keeps its symbol, and a released number reused for another string never shows up under
/// the old one.
@Suite(.serialized) struct SymbolLifetimeTests {
    @Test func theTableReleasesWhatWasLastUsedInAnEndedGenerationAndReusesItsNumbers() {
        let symbols = SymbolTable(maxSymbols: 4)
        let a = symbols.intern("a"), b = symbols.intern("b")
        #expect(symbols.intern("c") == SymbolTable.overflow, "full")
        let ended = symbols.advanceGeneration()
        #expect(symbols.intern("b") == b, "a lookup in the new generation restamps b")
        #expect(symbols.release(stampedThrough: ended) == 1, "only a was last used in the ended generation")
        #expect(symbols.string(a) == "" && symbols.count == 3 && symbols.released == 1)
        let c = symbols.intern("c")
        #expect(c == a, "the released number is reused")
        #expect(symbols.string(c) == "c" && symbols.string(b) == "b")
        #expect(symbols.intern("a") == SymbolTable.overflow, "full again; a is a new string now")
        #expect(symbols.release(stampedThrough: ended) == 0, "nothing left from that generation")
        // "" and ~overflow~ are never released.
        #expect(symbols.release(stampedThrough: .max - 1) == 2)
        #expect(symbols.string(SymbolTable.overflow) == "~overflow~" && symbols.intern("") == SymbolTable.none)
    }

    /// One producer's flood of new names fills at most half the table once others are
    /// known; the others' new names keep their own symbols, and what is held per producer
    /// goes back with the released symbols.
    @Test func aProducerFloodingNamesTakesNoMoreThanItsShareOfTheTable() {
        let symbols = SymbolTable(maxSymbols: 100)  // "" and ~overflow~ take 2 of them
        let flood = (0..<200).map { symbols.intern("flood-\($0)", producer: 1, producersActive: 2) }
        #expect(flood.filter { $0 != SymbolTable.overflow }.count == 50, "the first half, then its share of 100 ÷ 2")
        #expect(symbols.held(by: 1) == 50 && symbols.overflowed == 150)
        let polite = (0..<40).map { symbols.intern("polite-\($0)", producer: 2, producersActive: 2) }
        #expect(!polite.contains(SymbolTable.overflow), "the other producer's new names get symbols")
        #expect(symbols.intern("flood-0", producer: 2, producersActive: 2) == flood[0], "a string in the table is found whoever asks")
        #expect(symbols.held(by: 2) == 40)
        // A lone producer may fill the whole table.
        let alone = SymbolTable(maxSymbols: 100)
        #expect((0..<200).filter { alone.intern("n-\($0)", producer: 7) != SymbolTable.overflow }.count == 98)
        let ended = symbols.advanceGeneration()
        #expect(symbols.release(stampedThrough: ended) == 90)
        #expect(symbols.held(by: 1) == 0 && symbols.held(by: 2) == 0)
        #expect(symbols.intern("flood-new", producer: 1, producersActive: 2) != SymbolTable.overflow, "room again")
    }

    @Test func leasesSayWhichGenerationsTablesStillHold() throws {
        let symbols = SymbolTable()
        let first = symbols.openLease()
        let ended = symbols.advanceGeneration()
        #expect(first == ended)
        let second = symbols.openLease()
        #expect(symbols.hasLease(openedThrough: ended))
        symbols.closeLease(first)
        #expect(!symbols.hasLease(openedThrough: ended))
        #expect(symbols.hasLease(openedThrough: second))
        // A window table takes its lease when made and closes it when freed.
        var table: WindowTable? = WindowTable(startMicros: 0, maxSeries: 10, sketches: SketchParameters(), symbols: symbols)
        let generation = try #require(table).symbolLease
        symbols.closeLease(second)
        #expect(symbols.hasLease(openedThrough: generation))
        table = nil
        #expect(!symbols.hasLease(openedThrough: .max))
    }

    static let start: UInt64 = 1_763_700_000_000_000  // a multiple of 10 s

    /// The attack of issue 18 in frames that are accepted: a flood of distinct model names
    /// fills the table, later names fold into `~overflow~` (counted); once the flood's window
    /// is flushed and freed, its names are released and a fresh name is told apart again.
    @Test func aFloodOfNamesFillsTheTableOnlyUntilItsWindowIsFlushed() throws {
        var configuration = EngineConfiguration()
        configuration.shards = 2
        configuration.maxSymbols = 2 + 100
        configuration.window = WindowPolicy(intervalMicros: 1_000_000, allowedLatenessMicros: 500_000,
                                            futureToleranceMicros: 1_000_000)
        let clock = ManualClock(Self.start)
        let engine = AggregationEngine(configuration: configuration, clock: { clock.now })
        let port = engine.makeIngestPort()
        engine.start()
        defer { engine.stop() }
        let flood = (0..<200).map { TraceFrame(eventTimeMicros: Self.start + UInt64($0), model: "flood-\($0)", totalLatencyMicros: 5) }
        try ingest(port, try batches(flood))
        try ingest(port, try batches([TraceFrame(eventTimeMicros: Self.start + 300, model: "fresh", totalLatencyMicros: 5)]))
        #expect(engine.counters.symbolsOverflowed == 101, "100 flood names and the fresh one found the table full")
        // Once the shards hold every frame, seal and flush the flood's window: its snapshot
        // names the 100 admitted names.
        for _ in 0..<5_000 where engine.counters.aggregated < 201 { usleep(1_000) }
        clock.advance(1_600_000)
        var windows: [SealedWindow] = []
        for _ in 0..<5_000 where windows.isEmpty {
            windows = engine.collectSealedWindows()
            usleep(1_000)
        }
        let snapshot = try Snapshot.build(try #require(windows.first), collectorID: "t", sequence: 0, symbols: engine.symbols,
                                          sketches: configuration.sketches, counters: [:])
        #expect(snapshot.series.count == 101)
        #expect(snapshot.series.first { $0.labels.model == "~overflow~" }?.aggregate.requests == 101)
        #expect(engine.symbols.count == 102, "the window is not freed yet: nothing is released")
        windows = []
        // The next steps of the flusher release the names (each step waits for the shards'
        // next pass, which takes at most their 2 ms idle sleep).
        for _ in 0..<5_000 where engine.symbols.count > 2 {
            _ = engine.collectSealedWindows()
            usleep(1_000)
        }
        #expect(engine.symbols.count == 2, "only \"\" and ~overflow~ are left")
        #expect(engine.counters.named["symbols.released"] == 100)
        // A fresh name is told apart again, in the next window.
        try ingest(port, try batches([TraceFrame(eventTimeMicros: clock.now, model: "fresh", totalLatencyMicros: 5)]))
        #expect(engine.stop())
        let rest = engine.collectSealedWindows()
        let later = try Snapshot.build(try #require(rest.last), collectorID: "t", sequence: 1, symbols: engine.symbols,
                                       sketches: configuration.sketches, counters: [:])
        #expect(later.series.map(\.labels.model) == ["fresh"])
        #expect(engine.counters.symbolsOverflowed == 101)
    }

    /// Names come and go while two ingest threads publish and the clock runs: symbols are
    /// released and their numbers reused throughout, and every series in every snapshot
    /// still carries the strings its frames carried (model, version and tag of one name
    /// always together; a name in constant use is never released under it). Publishers,
    /// clock and flusher each run on a thread of their own (dispatch queues, not the
    /// cooperative pool, whose two threads the looping clock and flusher would take).
    @Test func releasedNumbersNeverReachASeriesUnderTheWrongString() throws {
        var configuration = EngineConfiguration()
        configuration.shards = 2
        configuration.ringCapacity = 1_024
        configuration.window = WindowPolicy(intervalMicros: 1_000_000, allowedLatenessMicros: 200_000,
                                            futureToleranceMicros: 1_000_000)
        let clock = ManualClock(Self.start)
        let engine = AggregationEngine(configuration: configuration, clock: { clock.now })
        let threads = 2, batchesPerThread = 1_500, framesPerBatch = 40
        let ports = (0..<threads).map { _ in engine.makeIngestPort() }
        engine.start()
        let done = ThreadsDone()
        let sketches = configuration.sketches
        let roles = DispatchGroup()
        // The clock: 50 ms of collector time a millisecond, so windows seal every ~25 ms.
        DispatchQueue(label: "test.clock").async(group: roles) {
            while done.count < threads {
                clock.advance(50_000)
                usleep(1_000)
            }
        }
        // The flusher: collects (which steps the release of symbols) and builds snapshots.
        let flusherResult = FlusherResult()
        DispatchQueue(label: "test.flusher").async(group: roles) {
            func check(_ sealed: [SealedWindow]) {
                for window in sealed {
                    guard let snapshot = try? Snapshot.build(window, collectorID: "t", sequence: 0, symbols: engine.symbols,
                                                             sketches: sketches, counters: [:]) else {
                        flusherResult.record(frames: 0, mismatch: "snapshot of \(window.startMicros) failed")
                        continue
                    }
                    for series in snapshot.series {
                        let l = series.labels
                        let name = l.model.hasPrefix("m-") ? String(l.model.dropFirst(2)) : l.model
                        let expected = SeriesLabels(model: l.model, modelVersion: "v-\(name)",
                                                    tags: [CohortTag("tenant", "t-\(name)")])
                        flusherResult.record(frames: series.aggregate.requests, mismatch: l == expected ? nil : "\(l)")
                    }
                    flusherResult.countWindow()
                }
            }
            while done.count < threads {
                check(engine.collectSealedWindows())
                usleep(1_000)
            }
            engine.stop()
            check(engine.collectSealedWindows())
        }
        let publishers = DispatchGroup()
        let failures = FlusherResult()
        for t in 0..<threads {
            let port = ports[t]
            DispatchQueue(label: "test.publisher.\(t)").async(group: publishers) {
                defer { done.finish() }
                let encoder = BatchEncoder(capacity: 16_384)
                let decoder = BatchDecoder()
                do {
                    for b in 0..<batchesPerThread {
                        encoder.reset()
                        // Half the frames under a name every batch uses, half under this
                        // batch's own name (used once, then released).
                        for f in 0..<framesPerBatch {
                            let name = f % 2 == 0 ? "steady" : "\(t)-\(b)"
                            _ = try encoder.append(TraceFrame(eventTimeMicros: clock.now, model: f % 2 == 0 ? "steady" : "m-\(name)",
                                                              modelVersion: "v-\(name)", tags: [CohortTag("tenant", "t-\(name)")],
                                                              totalLatencyMicros: 5))
                        }
                        port.ingest(try decoder.decode(encoder.finish(sequence: UInt64(b))))
                        if b % 50 == 0 { usleep(500) }
                    }
                } catch {
                    failures.record(frames: 0, mismatch: "publisher \(t): \(error)")
                }
            }
        }
        #expect(publishers.wait(timeout: .now() + 60) == .success)
        #expect(roles.wait(timeout: .now() + 30) == .success)
        let result = flusherResult.value, counters = engine.counters
        #expect(failures.value.mismatches.isEmpty, "\(failures.value.mismatches)")
        #expect(result.mismatches.isEmpty, "\(result.mismatches)")
        #expect(counters.accepted == UInt64(threads * batchesPerThread * framesPerBatch))
        #expect(result.frames == counters.aggregated, "every aggregated frame is in a snapshot")
        #expect(counters.aggregated + counters.totalDropped == counters.accepted)
        #expect(counters.symbolsOverflowed == 0)
        // 3 new strings a batch: thousands must have been released and reused on the way.
        #expect(counters.symbolsReleased > 1_000, "released \(counters.symbolsReleased) in \(result.windows) windows")
        #expect(engine.symbols.count < threads * batchesPerThread * 3, "numbers were reused")
    }
}

/// What the flusher of the test saw: frames in snapshots, the first mismatches, windows.
private final class FlusherResult: Sendable {
    struct Value { var frames: UInt64 = 0; var mismatches: [String] = []; var windows = 0 }
    private let state = Mutex(Value())
    func record(frames: UInt64, mismatch: String?) {
        state.withLock {
            $0.frames += frames
            if let mismatch, $0.mismatches.count < 10 { $0.mismatches.append(mismatch) }
        }
    }
    func countWindow() { state.withLock { $0.windows += 1 } }
    var value: Value { state.withLock { $0 } }
}

/// How many publishing threads have finished (read by the test's clock and flusher).
private final class ThreadsDone: Sendable {
    private let finished = Atomic<Int>(0)
    func finish() { finished.add(1, ordering: .releasing) }
    var count: Int { finished.load(ordering: .acquiring) }
}
