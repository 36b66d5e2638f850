import Testing
import Foundation
@testable import TallyDaemon

@Suite struct SnapshotLogTests {
    func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "tally-log-\(UUID().uuidString)"
        return path
    }

    @Test func tornAndCorruptRecordsAreSkippedNeverReturned() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try SnapshotLogWriter(directory: dir, maxBytes: 1 << 20, retention: 10, fsyncEachRecord: false)
        for seq in 0..<3 { try writer.append(sequence: UInt64(seq), payload: [UInt8](repeating: UInt8(seq), count: 100 + seq)) }
        writer.close()
        let file = try #require(SnapshotLog.files(in: dir).first)
        // A crash mid-write: half a record at the end.
        let half = Array(SnapshotLog.encodeRecord(sequence: 3, payload: [UInt8](repeating: 9, count: 80)).prefix(50))
        let handle = try #require(FileHandle(forWritingAtPath: file))
        handle.seekToEndOfFile()
        handle.write(Data(half))
        try handle.close()
        var (records, report) = SnapshotLog.read(directory: dir)
        #expect(records.map(\.sequence) == [0, 1, 2] && report.torn == 1)
        #expect(records[2].payload == [UInt8](repeating: 2, count: 102))
        // A flipped payload byte fails the CRC: that record and the rest of its file are not returned.
        var bytes = try #require(FileManager.default.contents(atPath: file))
        bytes[SnapshotLog.headerBytes + 5] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: file))
        (records, report) = SnapshotLog.read(directory: dir)
        #expect(records.isEmpty && report.torn == 1)
    }

    @Test func restartsNeverAppendToAnOldFileAndRetentionDeletesTheOldest() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for round in 0..<4 {
            let writer = try SnapshotLogWriter(directory: dir, maxBytes: 4_096, retention: 3, fsyncEachRecord: true)
            try writer.append(sequence: UInt64(round), payload: [1, 2, 3])
            writer.close()
        }
        #expect(SnapshotLog.files(in: dir).count == 3)
        #expect(SnapshotLog.read(directory: dir).records.map(\.sequence) == [1, 2, 3])
    }

    @Test func filesRotateByAge() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try SnapshotLogWriter(directory: dir, maxBytes: 1 << 20, maxSeconds: 1, retention: 10, fsyncEachRecord: false)
        try writer.append(sequence: 0, payload: [1])
        Thread.sleep(forTimeInterval: 2.1)  // time(2) has whole seconds
        try writer.append(sequence: 1, payload: [2])
        writer.close()
        #expect(SnapshotLog.files(in: dir).count == 2)
        #expect(SnapshotLog.read(directory: dir).records.map(\.sequence) == [0, 1])
    }

    /// Issue 18: start-up and replay read a bounded part of the data directory, one record
    /// at a time: the newest sequence, the newest N records, a range capped in records and bytes.
    @Test func boundedReadsTakeOnlyWhatTheyNeed() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 3 restarts × 10 records of 1,000 bytes, rotating every 4 records: 9 files.
        for round in 0..<3 {
            let writer = try SnapshotLogWriter(directory: dir, maxBytes: 4 * 1_020, retention: 100, fsyncEachRecord: false)
            for i in 0..<10 {
                let sequence = UInt64(round * 10 + i)
                try writer.append(sequence: sequence, payload: [UInt8](repeating: UInt8(sequence), count: 1_000))
            }
            writer.close()
        }
        #expect(SnapshotLog.files(in: dir).count == 9)
        #expect(SnapshotLog.newestSequence(directory: dir).sequence == 29)
        #expect(SnapshotLog.newestSequence(directory: dir + "-none").sequence == nil)

        var report = SnapshotLog.ReadReport()
        var newest: [UInt64] = []
        SnapshotLog.forEachNewest(13, directory: dir, report: &report) { newest.append($0.sequence) }
        #expect(newest == Array(17...29))
        newest = []
        SnapshotLog.forEachNewest(100, directory: dir, report: &report) { newest.append($0.sequence) }
        #expect(newest == Array(0...29) && report.torn == 0)

        #expect(SnapshotLog.read(directory: dir, sequences: 5...25, maxRecords: 7).records.map(\.sequence) == Array(5...11))
        #expect(SnapshotLog.read(directory: dir, sequences: 5...25, maxBytes: 3_500).records.map(\.sequence) == [5, 6, 7])
        #expect(SnapshotLog.read(directory: dir, sequences: 5...25, maxBytes: 10).records.map(\.sequence) == [5],
                "the first record is always taken")
        // The replay endpoint's reply is bounded the same way (1,000 snapshots, 64 MiB).
        let reply = ReplayServer.reply(to: "0 18446744073709551615", directory: dir)
        #expect(reply.count == 31 && String(decoding: reply[0], as: UTF8.self) == "ok 30")
    }

    @Test func aCorruptLengthIsATornRecordNotAnAllocation() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try SnapshotLogWriter(directory: dir, maxBytes: 1 << 20, retention: 10, fsyncEachRecord: false)
        try writer.append(sequence: 0, payload: [1, 2, 3])
        writer.close()
        let file = try #require(SnapshotLog.files(in: dir).first)
        // A second record announcing 200 MiB (under maxPayload) in a file of a few bytes.
        var record = SnapshotLog.encodeRecord(sequence: 1, payload: [7])
        withUnsafeBytes(of: UInt32(200 << 20).littleEndian) { record.replaceSubrange(4..<8, with: $0) }
        let handle = try #require(FileHandle(forWritingAtPath: file))
        handle.seekToEndOfFile()
        handle.write(Data(record))
        try handle.close()
        let (records, report) = SnapshotLog.read(directory: dir)
        #expect(records.map(\.sequence) == [0] && report.torn == 1)
    }
}
