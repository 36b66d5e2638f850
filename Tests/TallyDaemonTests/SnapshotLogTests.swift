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
}
