import Dispatch
import Foundation
import Synchronization

/// Why a sink did not deliver a snapshot.
public enum SinkDropReason: String, CaseIterable, Sendable {
    /// The sink's queue held `sink_queue` snapshots (the sink is slow or stuck).
    case queueFull = "queue_full"
    /// The sink's queue held its share of the memory budget in bytes
    /// (``SinkWorker/maxQueuedBytes``; the sink is slow or stuck).
    case queueBytes = "queue_bytes"
    /// Every retry failed.
    case failed
    /// The circuit breaker was open: recent snapshots all failed, so this one was not tried.
    case circuitOpen = "circuit_open"
    /// Still queued when shutdown's time ran out.
    case closeTimeout = "close_timeout"
}

/// What a sink did, by stable name (`sink.<name>.delivered`, `…dropped.<reason>`).
public struct SinkCounters: Sendable, Equatable {
    public var delivered: UInt64 = 0
    public var retries: UInt64 = 0
    public var failures: UInt64 = 0
    public var dropped: [SinkDropReason: UInt64] = [:]
    public var queueDepth = 0
    /// Bytes the queued snapshots and the one being delivered hold
    /// (``EncodedSnapshot/residentBytes``).
    public var queuedBytes = 0
}

/// Runs one sink on its own thread behind a queue bounded in snapshots (``capacity``) and
/// in bytes (``maxQueuedBytes``), so that a slow or failing sink never stalls the flusher
/// (beyond ``admitWaitSeconds`` a snapshot) or the other sinks, nor holds more than its
/// share of memory. A failed delivery is
/// retried with exponential backoff (``retryDelays``); after ``breakerThreshold``
/// snapshots in a row fail, the breaker opens for ``breakerOpenSeconds`` and
/// snapshots are dropped (counted) without trying.
public final class SinkWorker: @unchecked Sendable {
    public let sink: any SnapshotSink
    public let capacity: Int
    /// Bytes of snapshots the queue and the delivery in progress may hold; an empty queue
    /// admits one snapshot of any size, so a window bigger than this still flows to a sink
    /// that keeps up (at worst: the one being delivered and one queued).
    public let maxQueuedBytes: Int
    /// How long ``enqueue(_:)`` waits for room in a full queue before it drops the
    /// snapshot (seconds, 0 … 86,400; 0: never waits). The file sink's worker waits (its
    /// drops lose data, and the flusher is off the ingest path), the others do not.
    public let admitWaitSeconds: Double
    /// Called with each snapshot this worker drops, whatever the reason, on the thread that
    /// drops it (the flusher's, or the worker's own): the file sink's drops pin the
    /// window's journal segments (``Collector``).
    let onDrop: (@Sendable (EncodedSnapshot) -> Void)?
    public static let retryDelays: [Double] = [0.05, 0.2, 0.8]
    public static let breakerThreshold = 3
    public static let breakerOpenSeconds = 10.0

    private struct State {
        var queue: [EncodedSnapshot] = []
        var queuedBytes = 0
        /// The snapshot the sink is working on.
        var deliveringBytes = 0
        var closing = false
        /// Callers of ``enqueue(_:)`` waiting for room.
        var waiting = 0
        var counters = SinkCounters()
        var consecutiveFailures = 0
        var openUntil = 0.0
    }
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Signalled when the sink takes a snapshot off the queue or finishes one, while a
    /// caller waits for room.
    private let roomMade = DispatchSemaphore(value: 0)

    public init(sink: any SnapshotSink, capacity: Int, maxQueuedBytes: Int = .max, admitWaitSeconds: Double = 0,
                onDrop: (@Sendable (EncodedSnapshot) -> Void)? = nil) {
        self.sink = sink
        self.onDrop = onDrop
        self.capacity = max(1, capacity)
        self.maxQueuedBytes = max(0, maxQueuedBytes)
        self.admitWaitSeconds = min(max(0, admitWaitSeconds), 86_400)
        let thread = Thread { [self] in run() }
        thread.name = "tally.sink.\(sink.name)"
        thread.start()
    }

    /// Queues a snapshot. When the queue is full (``capacity`` snapshots, or past
    /// ``maxQueuedBytes`` with one queued), waits up to ``admitWaitSeconds`` for the sink
    /// to make room, then drops it (counted `queue_full` or `queue_bytes`); a closing
    /// worker drops at once (`close_timeout`). Returns false when it was dropped.
    @discardableResult
    public func enqueue(_ snapshot: EncodedSnapshot) -> Bool {
        let bytes = snapshot.residentBytes
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(admitWaitSeconds * 1e9)
        var waited = false
        while true {
            // nil: queued; else whether to wait for room (false: dropped and counted).
            let wait = state.withLock { s -> Bool? in
                if waited { s.waiting -= 1 }
                let reason: SinkDropReason? =
                    s.closing ? .closeTimeout
                    : s.queue.count >= capacity ? .queueFull
                    : !s.queue.isEmpty && s.deliveringBytes + s.queuedBytes + bytes > maxQueuedBytes ? .queueBytes
                    : nil
                guard let reason else {
                    s.queue.append(snapshot)
                    s.queuedBytes += bytes
                    return nil
                }
                if reason != .closeTimeout && DispatchTime.now().uptimeNanoseconds < deadline {
                    s.waiting += 1
                    return true
                }
                s.counters.dropped[reason, default: 0] += 1
                return false
            }
            guard let wait else {
                wake.signal()
                return true
            }
            guard wait else {
                onDrop?(snapshot)
                return false
            }
            // Woken when the sink makes room; at most 50 ms between checks in any case.
            let left = deadline &- DispatchTime.now().uptimeNanoseconds
            _ = roomMade.wait(timeout: .now() + .nanoseconds(Int(min(left, 50_000_000))))
            waited = true
        }
    }

    public var counters: SinkCounters {
        state.withLock { s in
            var c = s.counters
            c.queueDepth = s.queue.count
            c.queuedBytes = s.queuedBytes + s.deliveringBytes
            return c
        }
    }

    /// Delivers what is queued and stops, waiting at most `timeoutSeconds`; what is
    /// left then is counted as dropped (`close_timeout`). Returns whether it finished.
    @discardableResult
    public func close(timeoutSeconds: Double) -> Bool {
        state.withLock { $0.closing = true }
        wake.signal()
        let done = finished.wait(timeout: .now() + timeoutSeconds) == .success
        if !done {
            let left = state.withLock { s -> [EncodedSnapshot] in
                defer {
                    s.queue.removeAll()
                    s.queuedBytes = 0
                }
                s.counters.dropped[.closeTimeout, default: 0] += UInt64(s.queue.count)
                return s.queue
            }
            for snapshot in left { onDrop?(snapshot) }
        }
        return done
    }

    private func run() {
        while true {
            wake.wait()
            // A snapshot's bytes count until it is delivered: the sink holds it meanwhile.
            while let next = state.withLock({ s -> EncodedSnapshot? in
                guard !s.queue.isEmpty else { return nil }
                let next = s.queue.removeFirst()
                s.queuedBytes -= next.residentBytes
                s.deliveringBytes = next.residentBytes
                if s.waiting > 0 { roomMade.signal() }
                return next
            }) {
                deliver(next)
                state.withLock { s in
                    s.deliveringBytes = 0
                    if s.waiting > 0 { roomMade.signal() }
                }
            }
            if state.withLock({ $0.closing && $0.queue.isEmpty }) { break }
        }
        sink.close()
        finished.signal()
    }

    private func deliver(_ snapshot: EncodedSnapshot) {
        let now = Date().timeIntervalSince1970
        if state.withLock({ $0.openUntil > now }) {
            state.withLock { $0.counters.dropped[.circuitOpen, default: 0] += 1 }
            onDrop?(snapshot)
            return
        }
        var attempt = 0
        while true {
            do {
                try sink.deliver(snapshot)
                state.withLock {
                    $0.counters.delivered += 1
                    $0.consecutiveFailures = 0
                }
                return
            } catch {
                state.withLock { $0.counters.failures += 1 }
                if attempt < SinkWorker.retryDelays.count {
                    Thread.sleep(forTimeInterval: SinkWorker.retryDelays[attempt])
                    attempt += 1
                    state.withLock { $0.counters.retries += 1 }
                    continue
                }
                state.withLock { s in
                    s.counters.dropped[.failed, default: 0] += 1
                    s.consecutiveFailures += 1
                    if s.consecutiveFailures >= SinkWorker.breakerThreshold {
                        s.openUntil = Date().timeIntervalSince1970 + SinkWorker.breakerOpenSeconds
                        s.consecutiveFailures = 0
                    }
                }
                FileHandle.standardError.write(Data("tallyd: sink \(sink.name): \(error)\n".utf8))
                onDrop?(snapshot)
                return
            }
        }
    }
}
