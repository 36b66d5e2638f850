import Foundation
import Synchronization
import Testing
import TallyClient
import TallyCore
@testable import TallyDaemon
import TallyWire

/// A window the file sink drops (its writes failed past their retries, or its queue stayed
/// full through the flusher's wait) keeps the journal segments that may hold its frames,
/// and the journal stays at a clean stop: the next start recovers the window. Before, the
/// file sink's newest written sequence passed over the hole and the journal released the
/// window's segments: its frames were lost.
@Suite(.serialized) struct FileSinkDropTests {
    /// Release keeps a closed segment whose receive times overlap a pinned range.
    @Test func pinnedReceiveRangesKeepTheirSegments() throws {
        let directory = NSTemporaryDirectory() + "tally-journal-pin-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let policy = WindowPolicy(intervalMicros: 1_000_000, allowedLatenessMicros: 1_000_000, futureToleranceMicros: 1_000_000)
        let writer = JournalWriter(directory: directory, run: JournalRun(firstSequence: 0, startedMicros: 1), source: 0, policy: policy)
        let encoder = BatchEncoder(capacity: 4_096, producerID: 1)
        _ = try encoder.append(TraceFrame(eventTimeMicros: 5_000_000, model: "m", totalLatencyMicros: 5))
        let batch = Array(encoder.finish(sequence: 0))
        // Ten segments of two batches each, received 10.0 … 19.5 s (a new one every second).
        for i in 0..<20 {
            let received = 10_000_000 + UInt64(i) * 500_000
            batch.withUnsafeBytes { writer.append($0, receivedMicros: received) }
            writer.noteNewestEvent(received, receivedMicros: received)
        }
        func files() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: directory).count }
        #expect(try files() == 10)
        // Frames of the window at 13 s can arrive from 12 s (the future tolerance) to 15 s
        // (its seal): the segments received 12.0–12.5, 13.0–13.5, 14.0–14.5 and 15.0–15.5 s.
        let dropped = DroppedWindows()
        #expect(dropped.note(startMicros: 13_000_000) && !dropped.note(startMicros: 13_000_000))
        #expect(dropped.receiveRanges(policy) == [12_000_000...15_000_000])
        writer.release(durableMicros: .max, pinned: dropped.receiveRanges(policy))
        #expect(try files() == 5, "four pinned segments and the open one")
        #expect(writer.segmentsDeleted.load(ordering: .relaxed) == 5)
        writer.release(durableMicros: .max)
        #expect(try files() == 1)
        writer.removeAll()
    }

    /// Every drop of a worker, whatever its reason, reaches its `onDrop`.
    @Test func aWorkerReportsEveryDrop() throws {
        final class FailingSink: SnapshotSink, @unchecked Sendable {
            let name = "failing"
            func deliver(_ snapshot: EncodedSnapshot) throws(SinkError) { throw SinkError("no") }
            func close() {}
        }
        final class Reported: Sendable {
            let sequences = Mutex<[UInt64]>([])
        }
        let reported = Reported()
        let worker = SinkWorker(sink: FailingSink(), capacity: 1,
                                onDrop: { snapshot in reported.sequences.withLock { $0.append(snapshot.sequence) } })
        for sequence in 0..<3 as Range<UInt64> {
            worker.enqueue(SinkQueueBytesTests.snapshot(sequence: sequence, series: 1, bytes: 10))
        }
        #expect(worker.close(timeoutSeconds: 10))
        let drops = worker.counters.dropped.values.reduce(0, +)
        #expect(drops == 3, "failed, or the queue full while the first was tried")
        #expect(reported.sequences.withLock { $0.sorted() } == [0, 1, 2])
    }

    @Test func aWindowTheFileSinkDroppedComesBackFromTheJournalAtTheNextStart() throws {
        let run = EndToEndTests.Run()
        var configuration = run.configuration(window: 1, lateness: 1)
        configuration.futureToleranceSeconds = 1
        configuration.index = false
        let collector = try Collector(configuration: configuration)
        collector.start()
        let client = try TallyClient(configuration: TallyClientConfiguration(endpoints: [run.ingest]))
        let frame = { TraceFrame(eventTimeMicros: EndToEndTests.nowMicros(), model: "m", totalLatencyMicros: 1_000) }
        #expect(EndToEndTests.wait(seconds: 10) {
            client.record(frame())
            _ = client.flush(timeoutMillis: 100)
            return collector.counters()["frames.accepted"]! > 0
        })
        // ~5 s of traffic; once a window is in the data directory, the file sink's next
        // window fails all four attempts (the first and three retries).
        var injected = false
        for _ in 0..<50 {
            for _ in 0..<100 { client.record(frame()) }
            _ = client.flush(timeoutMillis: 100)
            if !injected && collector.fileSink.writtenSequence != nil {
                collector.fileSink.injectFailures(1 + SinkWorker.retryDelays.count)
                injected = true
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let sent = client.close(timeoutMillis: 10_000)
        #expect(sent.dropped.reduce(0, +) == 0)
        #expect(EndToEndTests.wait(seconds: 10) { collector.counters()["frames.accepted"]! == sent.framesSent })
        #expect(collector.stop())
        let c = collector.counters()
        #expect(c["sink.file.dropped.failed"] == 1)
        #expect(c["journal.pinned_windows"] == 1)
        let before = try EndToEndTests.stored(run.dir).reduce(0) { $0 + $1.requests }
        #expect(before < sent.framesSent, "a window's frames are missing")
        let journal = configuration.journalPath
        #expect(!((try? FileManager.default.contentsOfDirectory(atPath: journal)) ?? []).isEmpty, "the journal was kept")

        let second = try Collector(configuration: configuration)
        second.start()
        #expect(EndToEndTests.wait(seconds: 30) { second.counters()["journal.recovered_runs"] == 1 })
        let recovered = second.counters()["journal.recovered_frames"] ?? 0
        #expect(second.stop())
        let after = try EndToEndTests.stored(run.dir)
        #expect(recovered == sent.framesSent - before)
        #expect(after.reduce(0) { $0 + $1.requests } == sent.framesSent, "every frame once")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: journal)) ?? []).filter { $0.hasSuffix(".tjl") }.isEmpty)
    }
}
