import Foundation
import Testing
@testable import TallyDaemon
import TallyCore

/// Older windows read back from a data directory for the web face (`/api/v1/snapshots`).
@Suite struct SnapshotArchiveTests {
    static func snapshot(window: UInt64) -> Snapshot {
        let start = 1_000_000_000 + window * 1_000_000
        return Snapshot(collectorID: "archive", windowStartMicros: start, windowEndMicros: start + 1_000_000,
                        sequence: window, sketches: SketchParameters(), series: [],
                        counters: ["frames.accepted": window])
    }

    @Test func picksTheNewestWindowsOfARangeAcrossFilesAndSkipsWhatIsNotASnapshot() throws {
        let dir = NSTemporaryDirectory() + "tally-archive-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Three writers: three files (a restart never appends to an old file).
        for part in 0..<3 {
            let writer = try SnapshotLogWriter(directory: dir, maxBytes: 1 << 20, retention: 10, fsyncEachRecord: false)
            for window in UInt64(part * 10)..<UInt64(part * 10 + 10) {
                try writer.append(sequence: window, payload: SnapshotCodec.encode(Self.snapshot(window: window)))
            }
            if part == 1 { try writer.append(sequence: 99, payload: [1, 2, 3]) }  // not a snapshot
            writer.close()
        }
        #expect(SnapshotLog.files(in: dir).count == 3)
        let archive = SnapshotArchive(directory: dir)

        let newest = archive.read(from: 0, to: .max, limit: 4)
        #expect(newest.snapshots.map(\.counters["frames.accepted"]) == [26, 27, 28, 29])
        #expect(newest.held == 30 && newest.skipped == 1)
        #expect(newest.heldFromMicros == 1_000_000_000 && newest.heldToMicros == 1_030_000_000)

        // Windows 5 … 12 overlap [5.5 s, 13 s) past the base; the newest three of them.
        let middle = archive.read(from: 1_005_500_000, to: 1_013_000_000, limit: 3)
        #expect(middle.snapshots.map(\.windowStartMicros) == [1_010_000_000, 1_011_000_000, 1_012_000_000])
        #expect(middle.snapshots.allSatisfy { $0.collectorID == "archive" })

        #expect(archive.read(from: 1, to: 2, limit: 10).snapshots.isEmpty)
        #expect(archive.read(from: 0, to: .max, limit: 1_000).snapshots.count == min(SnapshotArchive.maxPerRead, 30))

        // A window stored after the first reads (a new file) is seen.
        let writer = try SnapshotLogWriter(directory: dir, maxBytes: 1 << 20, retention: 10, fsyncEachRecord: false)
        try writer.append(sequence: 30, payload: SnapshotCodec.encode(Self.snapshot(window: 30)))
        writer.close()
        let after = archive.read(from: 0, to: .max, limit: 1)
        #expect(after.snapshots.map(\.windowStartMicros) == [1_030_000_000] && after.held == 31)
    }

    @Test func anEmptyOrMissingDirectoryHoldsNothing() {
        let read = SnapshotArchive(directory: "/nonexistent/tally-\(UUID().uuidString)").read(from: 0, to: .max, limit: 5)
        #expect(read.snapshots.isEmpty && read.held == 0 && read.heldFromMicros == nil)
    }
}
