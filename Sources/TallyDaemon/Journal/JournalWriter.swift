import Foundation
import Synchronization
import TallyCore

/// One ingest thread's part of the ingest journal (STORAGE.md, "The ingest journal"):
/// every valid batch the thread accepts is appended, with its receive time, to a segment
/// file before its frames are aggregated, so that a collector killed outright (SIGKILL, a
/// crash, the OOM killer) stores its unsealed windows when it restarts
/// (``JournalRecovery``). Segments are written without fsync: they survive the death of
/// the process, not of the host.
///
/// Cost on the ingest thread: one `writev` per batch (the batch's bytes copied into the
/// page cache, ~10 µs for 64 KiB) and a 16-byte header; no checksum over the payload (the
/// batch's own validation checks it again at replay). Disk: a segment is at most
/// ``maxSegmentBytes`` or one second long, and is deleted once every window its frames
/// can fall in has been sealed and written to the data directory, so the journal holds
/// at most `window + allowed lateness + 1 s` of ingest bytes (half that on average).
///
/// A write that fails (disk full, directory gone) is counted in ``writeErrors`` and turns
/// the journal off for this thread, logged once by the collector: ingest never waits or
/// stops for the journal.
public final class JournalWriter: @unchecked Sendable {
    /// A closed segment waiting for its windows to be stored.
    struct Segment {
        var path: String
        var bytes = 0
        /// The collector-clock time (µs) at which the newest window its frames can fall in
        /// is sealed; 0 when it holds no frame.
        var sealMicros: UInt64
        /// The receive times (µs, collector clock) of its first and last batch (0 … 0: none).
        var firstReceivedMicros: UInt64 = 0
        var lastReceivedMicros: UInt64 = 0

        /// Whether it may hold frames received in `range`.
        func mayHold(receivedIn range: ClosedRange<UInt64>) -> Bool {
            lastReceivedMicros >= range.lowerBound && firstReceivedMicros <= range.upperBound
        }
    }

    static let maxSegmentBytes = 64 << 20
    /// Closed segments kept at most, in bytes: past it (the file sink has stopped writing, so
    /// nothing is released) the oldest go, counted in ``segmentsEvicted``; those windows are
    /// then unprotected against a kill, but the journal cannot fill the disk.
    static let defaultMaxClosedBytes = 4 << 30
    let maxClosedBytes: Int
    /// A segment's longest span of receive times (µs): one second, or the window when shorter.
    /// Short segments go soon after their windows are stored, which keeps the journal's pages
    /// few enough that the kernel seldom writes them back before they are deleted.
    let maxSegmentMicros: UInt64

    let directory: String
    let run: JournalRun
    let source: Int
    private let policy: WindowPolicy
    // Ingest-thread state.
    private var fd: Int32 = -1
    private var segmentNumber = 0
    private var segmentStartMicros: UInt64 = 0
    private var segmentBytes = 0
    private var current: Segment?
    private var header = [UInt8](repeating: 0, count: JournalFormat.recordHeaderBytes)
    // Shared with the flusher.
    private let closed = Mutex<[Segment]>([])
    let bytes = Atomic<UInt64>(0)
    let records = Atomic<UInt64>(0)
    let writeErrors = Atomic<UInt64>(0)
    let segmentsDeleted = Atomic<UInt64>(0)
    let segmentsEvicted = Atomic<UInt64>(0)
    private let failed = Atomic<Bool>(false)

    init(directory: String, run: JournalRun, source: Int, policy: WindowPolicy,
         maxClosedBytes: Int = JournalWriter.defaultMaxClosedBytes) {
        self.maxClosedBytes = maxClosedBytes
        self.directory = directory
        self.run = run
        self.source = source
        self.policy = policy
        maxSegmentMicros = min(policy.intervalMicros, 1_000_000)
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Appends one validated batch received at `receivedMicros`. Ingest thread only.
    func append(_ batch: UnsafeRawBufferPointer, receivedMicros: UInt64) {
        guard !failed.load(ordering: .relaxed) else { return }
        if fd < 0 || segmentBytes >= Self.maxSegmentBytes
            || receivedMicros &- segmentStartMicros >= maxSegmentMicros {
            guard rotate(receivedMicros) else { return }
        }
        JournalFormat.encodeRecordHeader(&header, length: batch.count, receivedMicros: receivedMicros)
        let fd = self.fd
        let written = header.withUnsafeMutableBytes { head -> Int in
            withUnsafeTemporaryAllocation(of: iovec.self, capacity: 2) { vectors in  // on the stack
                vectors[0] = iovec(iov_base: head.baseAddress, iov_len: head.count)
                vectors[1] = iovec(iov_base: UnsafeMutableRawPointer(mutating: batch.baseAddress), iov_len: batch.count)
                return writev(fd, vectors.baseAddress, 2)
            }
        }
        guard written == header.count + batch.count else { return fail() }
        if current?.firstReceivedMicros == 0 { current?.firstReceivedMicros = receivedMicros }
        if let last = current?.lastReceivedMicros, receivedMicros > last { current?.lastReceivedMicros = receivedMicros }
        segmentBytes += written
        bytes.add(UInt64(written), ordering: .relaxed)
        records.add(1, ordering: .relaxed)
    }

    /// The newest event time (µs) among the frames of the batch just appended (the ingest
    /// port's ``IngestPort/lastBatchNewestEventMicros``): it decides when the segment may go.
    func noteNewestEvent(_ eventMicros: UInt64, receivedMicros: UInt64) {
        guard current != nil else { return }
        // A frame beyond the future tolerance is rejected: it opens no window.
        let newest = min(eventMicros, receivedMicros &+ policy.futureToleranceMicros)
        let seal = policy.sealTime(ofWindowStarting: policy.windowStart(newest))
        if seal > current!.sealMicros { current!.sealMicros = seal }
    }

    /// Deletes the closed segments whose every window is sealed and stored: those whose
    /// seal time is at most `durableMicros` (``JournalWatermark``), except those that may
    /// hold frames received in one of `pinned` (a window the file sink dropped: its
    /// segments stay for the next start to recover it). Flusher thread.
    func release(durableMicros: UInt64, pinned: [ClosedRange<UInt64>] = []) {
        let due = closed.withLock { segments -> [Segment] in
            let isDue = { (segment: Segment) in
                segment.sealMicros <= durableMicros && !pinned.contains { segment.mayHold(receivedIn: $0) }
            }
            let due = segments.filter(isDue)
            segments.removeAll(where: isDue)
            return due
        }
        for segment in due { unlink(segment.path) }
        segmentsDeleted.add(UInt64(due.count), ordering: .relaxed)
    }

    /// After a clean stop (every window sealed and written): closes and deletes every segment.
    func removeAll() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
        let all = closed.withLock { segments -> [Segment] in
            defer { segments.removeAll() }
            return segments
        } + (current.map { [$0] } ?? [])
        current = nil
        for segment in all { unlink(segment.path) }
        segmentsDeleted.add(UInt64(all.count), ordering: .relaxed)
    }

    private func rotate(_ receivedMicros: UInt64) -> Bool {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
        if var current {
            current.bytes = segmentBytes
            let evicted = closed.withLock { segments -> [Segment] in
                segments.append(current)
                var total = segments.reduce(0) { $0 + $1.bytes }
                var oldest: [Segment] = []
                while total > maxClosedBytes, segments.count > 1 {
                    total -= segments[0].bytes
                    oldest.append(segments.removeFirst())
                }
                return oldest
            }
            for segment in evicted { unlink(segment.path) }
            segmentsEvicted.add(UInt64(evicted.count), ordering: .relaxed)
        }
        current = nil
        segmentNumber += 1
        let path = directory + "/" + JournalFormat.fileName(run: run, source: source, segment: segmentNumber)
        let opened = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o640)
        guard opened >= 0 else {
            fail()
            return false
        }
        fd = opened
        let head = JournalFormat.fileHeader(run: run, source: source)
        guard head.withUnsafeBytes({ write(opened, $0.baseAddress, $0.count) }) == head.count else {
            fail()
            return false
        }
        current = Segment(path: path, sealMicros: 0)
        segmentStartMicros = receivedMicros
        segmentBytes = head.count
        return true
    }

    private func fail() {
        writeErrors.add(1, ordering: .relaxed)
        failed.store(true, ordering: .relaxed)
    }

    /// True once a write failed and the journal stopped for this thread.
    var hasFailed: Bool { failed.load(ordering: .relaxed) }
    private let failureReported = Atomic<Bool>(false)
    /// True the first time it is called after a failure (the collector logs it once).
    func reportFailure() -> Bool { !failureReported.exchange(true, ordering: .relaxed) }
}
