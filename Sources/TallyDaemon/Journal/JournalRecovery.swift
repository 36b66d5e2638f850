import Foundation
import TallyCore
import TallyWire

/// What a restart finds in the ingest journal: the segments of earlier runs that died
/// before their windows were stored (a clean stop deletes its journal). Each such run's
/// batches are aggregated again (``JournalReplay``), leaving out the windows the run
/// stored itself (its snapshots in the data directory: sequences from its first up to the
/// next run's), and the windows that remain become new snapshots.
struct JournalRecovery {
    /// One dead run and its segment files (paths, in write order per source).
    struct DeadRun {
        var run: JournalRun
        var files: [String]
    }

    /// What replaying one run did.
    struct Outcome {
        var windows: [SealedWindow] = []
        var replay: JournalReplay
        var records = 0
        var invalidBatches = 0
        var unreadBytes = 0
    }

    /// The journal directory's runs, oldest first; files not named as journal segments are
    /// left alone.
    static func deadRuns(directory: String) -> [DeadRun] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var byRun: [JournalRun: [String]] = [:]
        for name in names {
            guard let run = JournalFormat.run(ofFile: name) else { continue }
            byRun[run, default: []].append(name)
        }
        return byRun.keys.sorted().map { run in
            // Source, then segment number, numerically.
            let files = byRun[run]!.sorted { a, b in
                let x = a.dropLast(JournalFormat.fileSuffix.count).split(separator: "-").suffix(2).compactMap { Int($0) }
                let y = b.dropLast(JournalFormat.fileSuffix.count).split(separator: "-").suffix(2).compactMap { Int($0) }
                return x.lexicographicallyPrecedes(y)
            }
            return DeadRun(run: run, files: files.map { directory + "/" + $0 })
        }
    }

    /// Window starts (µs) of the snapshots in the data directory with a sequence in
    /// `sequences` and a window starting at or after `sinceMicros`. Files are read newest
    /// first, one record in memory at a time, and the walk stops at the first file holding
    /// no such window (older files hold older windows), so a long run's retention is not read.
    static func storedWindows(dataDirectory: String, sequences: Range<UInt64>, sinceMicros: UInt64) -> Set<UInt64> {
        guard !sequences.isEmpty else { return [] }
        var starts = Set<UInt64>()
        var report = SnapshotLog.ReadReport()
        for path in SnapshotLog.files(in: dataDirectory).reversed() {
            if let first = SnapshotLog.firstSequence(ofFile: path), first >= sequences.upperBound { continue }
            var recent = false
            SnapshotLog.forEachRecord(inFile: path, report: &report) { record in
                if sequences.contains(record.sequence), let window = SnapshotCodec.window(of: record.payload),
                   window.startMicros >= sinceMicros {
                    starts.insert(window.startMicros)
                    recent = true
                }
                return true
            }
            if !recent { break }
        }
        return starts
    }

    /// The earliest receive time (µs) in a dead run's segments: the first record of each
    /// file (a file's records are in receive order); nil when none holds a whole record.
    static func oldestReceive(_ dead: DeadRun) -> UInt64? {
        var oldest: UInt64?
        for path in dead.files {
            guard let file = FileHandle(forReadingAtPath: path) else { continue }
            defer { try? file.close() }
            let head = [UInt8](file.readData(ofLength: JournalFormat.fileHeaderBytes + JournalFormat.recordHeaderBytes))
            guard let received = JournalFormat.parseFirstRecordHeader(head) else { continue }
            oldest = min(oldest ?? .max, received)
        }
        return oldest
    }

    /// Replays a dead run's segments; `stored` are the windows it had stored.
    static func replay(_ dead: DeadRun, configuration: EngineConfiguration, stored: Set<UInt64>) -> Outcome {
        var outcome = Outcome(replay: JournalReplay(configuration: configuration, skipping: stored))
        let decoder = BatchDecoder()
        for path in dead.files {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let bytes = [UInt8](data)
            let contents = JournalFormat.parse(bytes)
            outcome.unreadBytes += contents.unreadBytes
            bytes.withUnsafeBytes { raw in
                for record in contents.records {
                    outcome.records += 1
                    guard let view = try? decoder.decode(UnsafeRawBufferPointer(rebasing: raw[record.batch])) else {
                        outcome.invalidBatches += 1
                        continue
                    }
                    outcome.replay.add(view, receivedMicros: record.receivedMicros)
                }
            }
        }
        outcome.windows = outcome.replay.windows()
        return outcome
    }
}
