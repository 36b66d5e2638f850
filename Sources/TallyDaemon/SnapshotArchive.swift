#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import TallyCore

/// Stored windows read back from the data directory (``SnapshotLog``), for the web
/// face's requests about windows older than it holds in memory.
///
/// Cost: each snapshot file is read whole once to summarize it (its records and window
/// range, kept per file: a few numbers) and again only when it changes (the newest file
/// grows) or when it may hold windows a request asks for. Files are walked newest first
/// and the walk stops once `limit` windows are found (windows grow with the files'
/// order), so a request for recent windows reads the newest files only; records are
/// picked by their header (``SnapshotCodec/window(of:)``) and only those returned are
/// decoded. One file is in memory at a time and reads are serialized. Torn records and
/// payloads that do not decode are skipped and counted, never returned.
public final class SnapshotArchive: Sendable {
    /// The most snapshots one read returns (a 10,000-series snapshot is a few MB decoded).
    public static let maxPerRead = 100
    public let directory: String
    private let summaries = Mutex([String: FileSummary]())

    struct FileSummary {
        var bytes: Int
        var records = 0
        var skipped = 0
        var firstStart: UInt64?
        var lastEnd: UInt64?
    }

    /// What a read found.
    public struct Read: Sendable {
        /// The newest `limit` snapshots overlapping the range, oldest first; one per
        /// (collector, window start).
        public var snapshots: [Snapshot] = []
        /// The range of every intact stored window (nil when the directory holds none).
        public var heldFromMicros: UInt64?
        public var heldToMicros: UInt64?
        /// Intact stored records.
        public var held = 0
        /// Records skipped: torn, or not a snapshot header, or (among those picked) not decodable.
        public var skipped = 0
    }

    public init(directory: String) {
        self.directory = directory
    }

    /// The stored snapshots whose window overlaps [`from`, `to`) µs, the newest `limit`
    /// (clamped to 1 … ``maxPerRead``).
    public func read(from: UInt64, to: UInt64, limit: Int) -> Read {
        let limit = min(max(limit, 1), SnapshotArchive.maxPerRead)
        return summaries.withLock { cache in
            let files = SnapshotLog.files(in: directory)
            cache = cache.filter { files.contains($0.key) }
            var candidates: [(start: UInt64, payload: [UInt8])] = []
            for path in files.reversed() {
                let size = SnapshotArchive.size(of: path)
                let known = cache[path].map { $0.bytes == size } ?? false
                let mayOverlap = cache[path].map { ($0.firstStart ?? .max) < to && ($0.lastEnd ?? 0) > from } ?? true
                guard !known || (mayOverlap && candidates.count < limit) else { continue }
                var records: [SnapshotLog.Record] = []
                var report = SnapshotLog.ReadReport()
                SnapshotLog.readRecords(of: path, into: &records, report: &report)
                guard report.unreadable == 0 else { continue }
                var summary = FileSummary(bytes: size, skipped: report.torn)
                for record in records {
                    guard let window = SnapshotCodec.window(of: record.payload) else { summary.skipped += 1; continue }
                    summary.records += 1
                    summary.firstStart = min(summary.firstStart ?? .max, window.startMicros)
                    summary.lastEnd = max(summary.lastEnd ?? 0, window.endMicros)
                    if window.startMicros < to && window.endMicros > from {
                        candidates.append((window.startMicros, record.payload))
                    }
                }
                cache[path] = summary
                // The newest windows found so far (twice `limit`: room for duplicates).
                candidates.sort { $0.start > $1.start }
                if candidates.count > limit * 2 { candidates.removeLast(candidates.count - limit * 2) }
            }
            var result = Read()
            for summary in cache.values {
                result.held += summary.records
                result.skipped += summary.skipped
                if let first = summary.firstStart { result.heldFromMicros = min(result.heldFromMicros ?? .max, first) }
                if let last = summary.lastEnd { result.heldToMicros = max(result.heldToMicros ?? 0, last) }
            }
            // Newest first; keep the newest `limit` distinct windows.
            var seen = Set<String>()
            for candidate in candidates where result.snapshots.count < limit {
                guard let snapshot = try? SnapshotCodec.decode(candidate.payload) else { result.skipped += 1; continue }
                guard seen.insert("\(snapshot.collectorID)@\(snapshot.windowStartMicros)").inserted else { continue }
                result.snapshots.append(snapshot)
            }
            result.snapshots.reverse()
            return result
        }
    }

    /// The file's size in bytes (-1 when it cannot be stat'ed).
    static func size(of path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : -1
    }
}
