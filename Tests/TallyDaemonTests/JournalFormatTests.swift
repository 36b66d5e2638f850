import Foundation
import Testing
@testable import TallyDaemon
import TallyCore
import TallySynthetic
import TallyWire

/// The ingest journal's parts without a process: the bytes (STORAGE.md), the watermark
/// that lets segments go, and the replay's placement of frames.
@Suite struct JournalFormatTests {
    /// A batch of `count` frames at `eventMicros` (one producer).
    static func batch(_ count: Int, eventMicros: UInt64, seed: UInt64 = 1) throws -> [UInt8] {
        let encoder = BatchEncoder(capacity: 65_536, producerID: 7)
        var rng = SplitMix64(seed: seed)
        let fleet = SyntheticFleet(tenants: 2, users: 50)
        for _ in 0..<count { _ = try encoder.append(fleet.frame(eventTimeMicros: eventMicros, &rng)) }
        return Array(encoder.finish(sequence: 1))
    }

    @Test func recordsRoundTripAndATornTailIsIgnored() throws {
        let run = JournalRun(firstSequence: 42, startedMicros: 1_700_000_000_000_000)
        let name = JournalFormat.fileName(run: run, source: 1, segment: 3)
        #expect(name == "00000000000000000042-00001700000000000000-1-3.tjl")
        #expect(JournalFormat.run(ofFile: name) == run)
        #expect(JournalFormat.run(ofFile: "snapshots-00000000000000000042.tly") == nil)

        var file = JournalFormat.fileHeader(run: run, source: 1)
        #expect(file.count == JournalFormat.fileHeaderBytes)
        let batches = [try Self.batch(3, eventMicros: 5_000_000), try Self.batch(1, eventMicros: 6_000_000)]
        for (i, batch) in batches.enumerated() {
            var header = [UInt8](repeating: 0, count: JournalFormat.recordHeaderBytes)
            JournalFormat.encodeRecordHeader(&header, length: batch.count, receivedMicros: UInt64(10 + i))
            file += header + batch
        }
        #expect(JournalFormat.parseFirstRecordHeader(Array(file.prefix(48))) == 10)
        let whole = JournalFormat.parse(file)
        #expect(whole.headerValid && whole.unreadBytes == 0)
        #expect(whole.records.map(\.receivedMicros) == [10, 11])
        #expect(whole.records.map { Array(file[$0.batch]) } == batches)

        // The process died mid-write: the last record is cut short.
        let torn = JournalFormat.parse(Array(file.dropLast(5)))
        #expect(torn.records.count == 1 && torn.unreadBytes == JournalFormat.recordHeaderBytes + batches[1].count - 5)
        // A record header that fails its check ends the file there.
        var corrupt = file
        corrupt[JournalFormat.fileHeaderBytes + 5] ^= 0xFF
        #expect(JournalFormat.parse(corrupt).records.isEmpty)
        // Not a journal file at all.
        #expect(!JournalFormat.parse(Array("snapshots".utf8)).headerValid)
    }

    @Test func theWatermarkWaitsForTheFileSink() {
        var mark = JournalWatermark()
        // Before any snapshot: nothing to wait for.
        mark.flushed(lastSequence: nil, sealedThroughMicros: 100)
        #expect(mark.advance(written: nil) == 100)
        // Sequence 5 handed with windows sealing by 200: durable once 5 is written.
        mark.flushed(lastSequence: 5, sealedThroughMicros: 200)
        mark.flushed(lastSequence: 5, sealedThroughMicros: 250)
        mark.flushed(lastSequence: 6, sealedThroughMicros: 300)
        #expect(mark.advance(written: 4) == 100)
        #expect(mark.advance(written: 5) == 250)
        #expect(mark.advance(written: 6) == 300)
        #expect(mark.advance(written: 6) == 300)
    }

    @Test func theReplayPlacesFramesAsTheDeadRunDid() throws {
        var configuration = EngineConfiguration()
        configuration.window = WindowPolicy(intervalMicros: 1_000_000, allowedLatenessMicros: 2_000_000,
                                            futureToleranceMicros: 10_000_000)
        configuration.shards = 2
        // Window 10 s was stored by the dead run; 11 s and 12 s were not.
        let replay = JournalReplay(configuration: configuration, skipping: [10_000_000])
        let decoder = BatchDecoder()
        func add(_ bytes: [UInt8], at received: UInt64) throws {
            try bytes.withUnsafeBytes { raw in replay.add(try decoder.decode(raw), receivedMicros: received) }
        }
        try add(try Self.batch(4, eventMicros: 10_500_000), at: 11_000_000)  // stored window: left out
        try add(try Self.batch(3, eventMicros: 11_500_000), at: 12_000_000)  // recovered
        try add(try Self.batch(2, eventMicros: 12_100_000), at: 12_200_000)  // recovered
        try add(try Self.batch(5, eventMicros: 9_500_000), at: 13_000_000)   // late at receipt (sealed at 12.0 s)
        try add(try Self.batch(1, eventMicros: 30_000_000), at: 13_000_000)  // beyond the future tolerance
        #expect(replay.alreadyStored == 4 && replay.frames == 5 && replay.late == 5 && replay.future == 1)
        let windows = replay.windows()
        #expect(windows.map(\.startMicros) == [11_000_000, 12_000_000])
        #expect(windows.map(\.frames) == [3, 2])
    }

    /// With nothing released (the file sink stopped), the closed segments stay within the
    /// cap: the oldest are deleted and counted, the newest kept.
    @Test func aJournalThatIsNeverReleasedStaysWithinItsCap() throws {
        let directory = NSTemporaryDirectory() + "tally-journal-cap-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let policy = WindowPolicy(intervalMicros: 1_000_000, allowedLatenessMicros: 1_000_000, futureToleranceMicros: 1_000_000)
        let writer = JournalWriter(directory: directory, run: JournalRun(firstSequence: 0, startedMicros: 1), source: 0,
                                   policy: policy, maxClosedBytes: 20_000)
        let batch = try Self.batch(20, eventMicros: 5_000_000)
        // 60 segments of ~2 batches each (a new one every second of receive time).
        for i in 0..<120 {
            let received = 5_000_000 + UInt64(i) * 500_000
            batch.withUnsafeBytes { writer.append($0, receivedMicros: received) }
            writer.noteNewestEvent(received, receivedMicros: received)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        let bytes = try files.reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: directory + "/" + $1)[.size] as? Int) ?? 0) }
        let segment = JournalFormat.fileHeaderBytes + 2 * (JournalFormat.recordHeaderBytes + batch.count)
        #expect(writer.segmentsEvicted.load(ordering: .relaxed) > 0)
        #expect(bytes <= 20_000 + 2 * segment, "closed segments within the cap, plus the open one: \(bytes) B in \(files.count) files")
        #expect(writer.writeErrors.load(ordering: .relaxed) == 0)
        writer.release(durableMicros: .max)
        writer.removeAll()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }
}
