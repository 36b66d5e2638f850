import Dispatch
import Foundation
import Synchronization
import Testing
import TallyCore
@testable import TallyDaemon

/// Sink queues are bounded in bytes by their share of the memory budget (issue 18), besides
/// `sink_queue` snapshots, and the budget's other shares bound the series per window and
/// the symbols.
@Suite struct SinkQueueBytesTests {
    /// A sink that holds each delivery until released, and records what it got.
    final class HeldSink: SnapshotSink, @unchecked Sendable {
        let name = "held"
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var got: [UInt64] = []
        var delivered: [UInt64] { lock.withLock { got } }
        func deliver(_ snapshot: EncodedSnapshot) throws(SinkError) {
            started.signal()
            release.wait()
            lock.withLock { got.append(snapshot.sequence) }
        }
        func close() {}
    }

    /// A snapshot of `series` empty series and `bytes` encoded bytes (not a real encoding:
    /// the queue only counts).
    static func snapshot(sequence: UInt64, series: Int, bytes: Int) -> EncodedSnapshot {
        let snapshot = Snapshot(collectorID: "q", windowStartMicros: 0, windowEndMicros: 1_000_000, sequence: sequence,
                                sketches: SketchParameters(),
                                series: (0..<series).map { SnapshotSeries(labels: SeriesLabels(model: "m\($0)"),
                                                                          aggregate: SeriesAggregate(), errorClasses: [:]) },
                                counters: [:])
        return EncodedSnapshot(sequence: sequence, snapshot: snapshot, bytes: [UInt8](repeating: 0, count: bytes))
    }

    @Test func residentBytesCountTheEncodingTheIndexAndTheDecodedSeries() {
        var s = Self.snapshot(sequence: 0, series: 3, bytes: 1_000)
        s.index = [[UInt8](repeating: 1, count: 50), [UInt8](repeating: 2, count: 70)]
        #expect(s.residentBytes == 1_000 + 120 + 3 * MemoryShares.queuedBytesPerSeries)
    }

    @Test func aSlowSinkHoldsNoMoreThanItsBytesAndTheRestIsCountedAsQueueBytes() throws {
        let sink = HeldSink()
        let perSnapshot = Self.snapshot(sequence: 0, series: 10, bytes: 8_000).residentBytes  // 30,000 B
        let worker = SinkWorker(sink: sink, capacity: 64, maxQueuedBytes: 3 * perSnapshot)
        #expect(worker.enqueue(Self.snapshot(sequence: 0, series: 10, bytes: 8_000)))
        #expect(sink.started.wait(timeout: .now() + 10) == .success, "the first is being delivered")
        // Delivering one, the queue takes two more within 3 snapshots' bytes, then refuses.
        var accepted: [UInt64] = []
        for sequence in 1...6 as ClosedRange<UInt64>
        where worker.enqueue(Self.snapshot(sequence: sequence, series: 10, bytes: 8_000)) { accepted.append(sequence) }
        #expect(accepted == [1, 2])
        var c = worker.counters
        #expect(c.queuedBytes == 3 * perSnapshot)
        #expect(c.queuedBytes <= worker.maxQueuedBytes)
        #expect(c.dropped[.queueBytes] == 4)
        #expect(c.dropped[.queueFull] == nil, "the byte bound came first")
        for _ in 0..<3 { sink.release.signal() }
        #expect(worker.close(timeoutSeconds: 10))
        c = worker.counters
        #expect(sink.delivered == [0, 1, 2], "what was queued is delivered, in order")
        #expect(c.delivered == 3 && c.queuedBytes == 0)
    }

    @Test func anEmptyQueueAdmitsOneSnapshotBiggerThanItsShare() throws {
        let sink = HeldSink()
        let worker = SinkWorker(sink: sink, capacity: 64, maxQueuedBytes: 1_000)
        #expect(worker.enqueue(Self.snapshot(sequence: 0, series: 5, bytes: 50_000)), "nothing queued: it flows")
        #expect(sink.started.wait(timeout: .now() + 10) == .success)
        #expect(worker.enqueue(Self.snapshot(sequence: 1, series: 5, bytes: 50_000)), "the queue is empty again")
        #expect(!worker.enqueue(Self.snapshot(sequence: 2, series: 0, bytes: 10)), "past the share with one queued")
        #expect(worker.counters.dropped[.queueBytes] == 1)
        for _ in 0..<2 { sink.release.signal() }
        #expect(worker.close(timeoutSeconds: 10))
        #expect(sink.delivered == [0, 1])
    }

    /// A sink that takes 100 ms a snapshot: it keeps up with one window a second, not with
    /// the final flush's burst of every open window at once.
    final class SlowSink: SnapshotSink, @unchecked Sendable {
        let name = "slow"
        private let lock = NSLock()
        private var got: [UInt64] = []
        var delivered: [UInt64] { lock.withLock { got } }
        func deliver(_ snapshot: EncodedSnapshot) throws(SinkError) {
            Thread.sleep(forTimeInterval: 0.1)
            lock.withLock { got.append(snapshot.sequence) }
        }
        func close() {}
    }

    /// Five windows, each past the queue's share, handed at once (as the final flush does).
    static func burst(into worker: SinkWorker) -> [Bool] {
        (0..<5 as Range<UInt64>).map { worker.enqueue(Self.snapshot(sequence: $0, series: 2, bytes: 4_000)) }
    }

    @Test func aBurstWaitsForASinkThatKeepsUpWhenTheWorkerWaits() throws {
        let sink = SlowSink()
        let worker = SinkWorker(sink: sink, capacity: 64, maxQueuedBytes: 1_000, admitWaitSeconds: 10)
        #expect(Self.burst(into: worker) == [true, true, true, true, true])
        #expect(worker.close(timeoutSeconds: 10))
        #expect(sink.delivered == [0, 1, 2, 3, 4], "every window reached the sink, in order")
        #expect(worker.counters.dropped.isEmpty)
    }

    @Test func aBurstLosesWindowsWhenTheWorkerDoesNotWait() throws {
        let sink = SlowSink()
        let worker = SinkWorker(sink: sink, capacity: 64, maxQueuedBytes: 1_000)
        let queued = Self.burst(into: worker)
        #expect(worker.close(timeoutSeconds: 10))
        // Past its share with one queued, the queue refuses the rest of the burst at once.
        #expect(queued.filter { !$0 }.count >= 2)
        #expect(worker.counters.dropped[.queueBytes] == UInt64(queued.filter { !$0 }.count))
        #expect(sink.delivered.count == queued.filter { $0 }.count)
    }

    @Test func aWaitingWorkerDropsOnceItsWaitIsOver() throws {
        let sink = HeldSink()
        let worker = SinkWorker(sink: sink, capacity: 64, maxQueuedBytes: 1_000, admitWaitSeconds: 0.3)
        #expect(worker.enqueue(Self.snapshot(sequence: 0, series: 1, bytes: 2_000)))
        #expect(sink.started.wait(timeout: .now() + 10) == .success, "the first is being delivered")
        #expect(worker.enqueue(Self.snapshot(sequence: 1, series: 1, bytes: 2_000)), "the queue is empty")
        let started = Date()
        #expect(!worker.enqueue(Self.snapshot(sequence: 2, series: 1, bytes: 2_000)), "the sink is stuck")
        #expect(Date().timeIntervalSince(started) >= 0.3, "it waited its 0.3 s first")
        #expect(worker.counters.dropped == [.queueBytes: 1])
        for _ in 0..<2 { sink.release.signal() }
        #expect(worker.close(timeoutSeconds: 10))
        #expect(sink.delivered == [0, 1])
    }

    @Test func aWaitingEnqueueReturnsOnceTheSinkMakesRoom() throws {
        let sink = HeldSink()
        let worker = SinkWorker(sink: sink, capacity: 64, maxQueuedBytes: 1_000, admitWaitSeconds: 30)
        #expect(worker.enqueue(Self.snapshot(sequence: 0, series: 1, bytes: 2_000)))
        #expect(sink.started.wait(timeout: .now() + 10) == .success)
        #expect(worker.enqueue(Self.snapshot(sequence: 1, series: 1, bytes: 2_000)))
        let returned = DispatchSemaphore(value: 0)
        let result = Mutex<Bool?>(nil)
        Thread {
            result.withLock { $0 = worker.enqueue(Self.snapshot(sequence: 2, series: 1, bytes: 2_000)) }
            returned.signal()
        }.start()
        #expect(returned.wait(timeout: .now() + 0.3) == .timedOut, "no room while the sink holds 0 and 1 is queued")
        sink.release.signal()  // 0 done: the sink takes 1, and the queue has room
        #expect(returned.wait(timeout: .now() + 10) == .success)
        #expect(result.withLock { $0 } == true)
        for _ in 0..<2 { sink.release.signal() }
        #expect(worker.close(timeoutSeconds: 10))
        #expect(sink.delivered == [0, 1, 2])
        #expect(worker.counters.dropped.isEmpty)
    }

    @Test func theDefaultBudgetSplitsAsTheReadmeSays() throws {
        let shares = DaemonConfiguration().memoryShares
        #expect(shares.budgetBytes == 1 << 30)
        #expect(shares.tableBytes == 256 << 20)
        #expect(shares.maxSymbols == (64 << 20) / 448 && shares.maxSymbols == 149_796)
        #expect(shares.maxSeriesPerWindow == (64 << 20) / 2_623 && shares.maxSeriesPerWindow == 25_584)
        #expect(shares.sinkQueueBytes == 32 << 20)
        // The parts derived from the budget add up to at most 31/32 of it.
        let ingest = try DaemonConfiguration().ingestBudget.worstCaseQueuedBytes
        let flush = shares.maxSeriesPerWindow * MemoryShares.flushBytesPerSeries + shares.tableBytes / 4
        let symbols = shares.maxSymbols * SymbolTable.worstCaseBytesPerSymbol
        #expect(ingest + shares.tableBytes + flush + symbols + shares.sinkQueueBytes <= shares.budgetBytes / 32 * 31)
    }

    @Test(arguments: [(1_024, 2, 50_000, 12_792), (1_024, 1, 50_000, 25_584), (1_024, 2, 5_000, 5_000),
                      (256, 2, 50_000, 3_198), (4_096, 4, 50_000, 25_584), (64, 256, 50_000, 6)])
    func theSeriesCapIsTheSmallerOfTheConfiguredAndTheFlushShare(budgetMiB: Int, shards: Int, configured: Int, expected: Int) {
        var c = DaemonConfiguration()
        c.memoryBudgetMiB = budgetMiB
        c.shards = shards
        c.maxSeriesPerShard = configured
        #expect(c.engine.maxSeriesPerShardWindow == expected)
        #expect(c.engine.maxSymbols == (budgetMiB << 20) / 16 / SymbolTable.worstCaseBytesPerSymbol)
    }

    @Test func aCollectorSplitsTheSinksShareBetweenItsSinks() throws {
        let dir = NSTemporaryDirectory() + "tally-sinkshare-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = DaemonConfiguration()
        c.dataDirectory = dir
        c.endpoints = ["ipc://\(dir)/ingest"]
        c.pubEndpoint = "ipc://\(dir)/pub"
        c.replayEndpoint = ""
        c.index = false
        final class NullSink: SnapshotSink, @unchecked Sendable {
            let name = "null"
            func deliver(_ snapshot: EncodedSnapshot) throws(SinkError) {}
            func close() {}
        }
        let collector = try Collector(configuration: c, extraSinks: [NullSink()])
        collector.start()
        defer { collector.stop(timeoutSeconds: 1) }
        #expect(collector.sinks.count == 3)
        for sink in collector.sinks { #expect(sink.maxQueuedBytes == (32 << 20) / 3) }
        #expect(collector.sinks.map(\.admitWaitSeconds) == [Collector.fileSinkAdmitWaitSeconds, 0, 0],
                "only the file sink, the source of truth, makes the flusher wait")
        #expect(collector.counters()["sink.null.queue_max_bytes"] == UInt64((32 << 20) / 3))
    }
}
