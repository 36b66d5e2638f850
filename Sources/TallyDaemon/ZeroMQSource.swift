import Foundation
import Synchronization
import TallyCore
import TallyWire
import ZeroMQ

/// One ingest thread: a PULL socket bound on an endpoint, each message decoded
/// in place (no copy) and its frames routed into the engine. A batch that fails
/// validation is rejected whole and counted by reason; it never disturbs others.
///
/// Memory: ZeroMQ queues at most ``IngestSocketSettings/receiveQueueBatches`` batches
/// per connection and refuses (by closing the connection) any message over 1 MiB before
/// allocating it. A producer whose batches wait is never disconnected for it (see
/// ``IngestSocketSettings``). At ``stop()`` batches are aggregated for up to
/// ``IngestSocketSettings/drainMillis`` while the connections stay open, then the
/// endpoint is unbound and whatever is still queued is counted as
/// `ingest.dropped.shutdown_*`.
public final class ZeroMQSource: @unchecked Sendable {
    public let endpoint: String
    private let socket: ZMQSocket
    private let port: IngestPort
    private let settings: IngestSocketSettings
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// The endpoint as bound (a wildcard port resolved), for the unbind at stop.
    private let boundEndpoint: String

    /// Counters published by the ingest thread.
    public let batches = Atomic<UInt64>(0)
    public let bytes = Atomic<UInt64>(0)
    public let frames = Atomic<UInt64>(0)
    /// Batches and frames still queued in ZeroMQ when the shutdown drain ran out of time.
    public let shutdownDroppedBatches = Atomic<UInt64>(0)
    public let shutdownDroppedFrames = Atomic<UInt64>(0)
    /// Rejected batches by ``WireRejectReason`` raw value.
    private let rejected = Mutex([WireRejectReason: UInt64]())
    /// Frames per producer, shared by the collector's sources.
    private let producers: ProducerLedger
    /// Where each valid batch is appended before its frames are aggregated (nil: `journal = false`).
    let journal: JournalWriter?

    /// Binds the socket now (so a bad endpoint fails at start); the thread starts with ``start()``.
    /// - Parameter gate: when given, watches this socket's connections (ZAP domain
    ///   ``IngestGate/ingestDomain``); it must exist before the bind.
    public init(context: ZMQContext, endpoint: String, port: IngestPort, producers: ProducerLedger = ProducerLedger(),
                settings: IngestSocketSettings = IngestSocketSettings(receiveQueueBatches: 3),
                gate: IngestGate? = nil, journal: JournalWriter? = nil) throws(ZMQError) {
        self.endpoint = endpoint
        self.journal = journal
        self.port = port
        self.producers = producers
        self.settings = settings
        let socket = try ZMQSocket(context: context, type: .pull)
        try settings.configure(socket)
        try socket.setReceiveTimeout(milliseconds: 100)
        if let gate {
            try socket.setZAPDomain(IngestGate.ingestDomain)
            try gate.watch(socket)
        }
        try socket.bind(endpoint)
        boundEndpoint = (try? socket.lastEndpoint()) ?? endpoint
        self.socket = socket
    }

    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "tally.ingest"
        thread.start()
    }

    /// Stops receiving new connections and batches, drains what ZeroMQ already holds
    /// (aggregated within the drain time, counted as dropped after it), closes the socket.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        finished.wait()
    }

    public var rejectedByReason: [WireRejectReason: UInt64] { rejected.withLock { $0 } }

    private func run() {
        let decoder = BatchDecoder()
        let message = ZMQMessage()
        while !stopping.load(ordering: .acquiring) {
            do {
                try socket.receive(into: message)
            } catch {
                if error.isWouldBlock || error.isInterrupted { continue }
                break  // context terminated or socket closed
            }
            ingest(message, decoder)
        }
        drain(decoder, message)
        socket.close()
        finished.signal()
    }

    private func ingest(_ message: ZMQMessage, _ decoder: BatchDecoder) {
        batches.add(1, ordering: .relaxed)
        bytes.add(UInt64(message.count), ordering: .relaxed)
        let outcome: Result<Int, WireError> = message.withUnsafeBytes { raw in
            Result { () throws(WireError) -> Int in
                let view = try decoder.decode(raw)
                // Journaled whole before any frame reaches a shard (``JournalWriter``).
                let received = journal == nil ? 0 : AggregationEngine.wallClockMicros()
                journal?.append(raw, receivedMicros: received)
                let dropped = port.ingest(view)
                journal?.noteNewestEvent(port.lastBatchNewestEventMicros, receivedMicros: received)
                producers.record(producer: view.producerID, frames: UInt64(view.frameCount), dropped: dropped)
                return view.frameCount
            }
        }
        switch outcome {
        case .success(let count): frames.add(UInt64(count), ordering: .relaxed)
        case .failure(let error): rejected.withLock { $0[error.reason, default: 0] += 1 }
        }
    }

    /// The shutdown drain. 1. With the connections still open (so that batches in the
    /// kernel's socket buffers and libzmq's engines, which a client already counts as
    /// sent, keep arriving), batches are read until nothing came for 100 ms (the receive
    /// timeout), for at most the drain time plus max(drain time, 1 s): aggregated within
    /// the drain time, only counted after it (the frame count read from the header of
    /// valid batches). 2. Unbinding closes the endpoint's
    /// connections, so nothing new arrives; what they delivered stays in the socket's
    /// queue (libzmq delivers a closing pipe's messages up to its delimiter) and is
    /// counted until the queue has been empty for 100 ms. Only a producer still sending
    /// at the unbind can lose bytes in flight without a count.
    private func drain(_ decoder: BatchDecoder, _ message: ZMQMessage) {
        let now = DispatchTime.now().uptimeNanoseconds
        let aggregateUntil = now + UInt64(settings.drainMillis) * 1_000_000
        let countUntil = aggregateUntil + UInt64(max(settings.drainMillis, 1_000)) * 1_000_000
        receiveUntilQuiet(before: countUntil, aggregatingBefore: aggregateUntil, decoder, message)
        try? socket.unbind(boundEndpoint)
        receiveUntilQuiet(before: .max, aggregatingBefore: aggregateUntil, decoder, message)
    }

    /// Receives until the socket has been quiet for 100 ms or `deadline` (uptime ns) has
    /// passed; a batch is aggregated before `aggregateUntil`, counted as dropped after.
    private func receiveUntilQuiet(before deadline: UInt64, aggregatingBefore aggregateUntil: UInt64,
                                   _ decoder: BatchDecoder, _ message: ZMQMessage) {
        while DispatchTime.now().uptimeNanoseconds < deadline {
            do {
                try socket.receive(into: message)
            } catch {
                if error.isInterrupted { continue }
                return  // quiet for 100 ms, or the socket is gone
            }
            if DispatchTime.now().uptimeNanoseconds < aggregateUntil {
                ingest(message, decoder)
            } else {
                let count = message.withUnsafeBytes { raw in (try? decoder.decode(raw))?.frameCount ?? 0 }
                shutdownDroppedBatches.add(1, ordering: .relaxed)
                shutdownDroppedFrames.add(UInt64(count), ordering: .relaxed)
            }
        }
    }
}
