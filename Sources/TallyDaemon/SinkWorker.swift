import Dispatch
import Foundation
import Synchronization

/// Why a sink did not deliver a snapshot.
public enum SinkDropReason: String, CaseIterable, Sendable {
    /// The sink's queue was full (the sink is slow or stuck).
    case queueFull = "queue_full"
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
}

/// Runs one sink on its own thread behind a bounded queue, so that a slow or
/// failing sink never stalls the flusher or the other sinks. A failed delivery is
/// retried with exponential backoff (``retryDelays``); after ``breakerThreshold``
/// snapshots in a row fail, the breaker opens for ``breakerOpenSeconds`` and
/// snapshots are dropped (counted) without trying.
public final class SinkWorker: @unchecked Sendable {
    public let sink: any SnapshotSink
    public let capacity: Int
    public static let retryDelays: [Double] = [0.05, 0.2, 0.8]
    public static let breakerThreshold = 3
    public static let breakerOpenSeconds = 10.0

    private struct State {
        var queue: [EncodedSnapshot] = []
        var closing = false
        var counters = SinkCounters()
        var consecutiveFailures = 0
        var openUntil = 0.0
    }
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    public init(sink: any SnapshotSink, capacity: Int) {
        self.sink = sink
        self.capacity = max(1, capacity)
        let thread = Thread { [self] in run() }
        thread.name = "tally.sink.\(sink.name)"
        thread.start()
    }

    /// Queues a snapshot; never blocks. Returns false when it was dropped (counted).
    @discardableResult
    public func enqueue(_ snapshot: EncodedSnapshot) -> Bool {
        let queued = state.withLock { s -> Bool in
            guard !s.closing, s.queue.count < capacity else {
                s.counters.dropped[s.closing ? .closeTimeout : .queueFull, default: 0] += 1
                return false
            }
            s.queue.append(snapshot)
            return true
        }
        if queued { wake.signal() }
        return queued
    }

    public var counters: SinkCounters {
        state.withLock { s in
            var c = s.counters
            c.queueDepth = s.queue.count
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
            state.withLock { s in
                s.counters.dropped[.closeTimeout, default: 0] += UInt64(s.queue.count)
                s.queue.removeAll()
            }
        }
        return done
    }

    private func run() {
        while true {
            wake.wait()
            while let next = state.withLock({ s -> EncodedSnapshot? in s.queue.isEmpty ? nil : s.queue.removeFirst() }) {
                deliver(next)
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
                return
            }
        }
    }
}
