import Foundation
import Synchronization
import TallyCore
import TallyWire
import ZeroMQ

/// One ingest thread: a PULL socket bound on an endpoint, each message decoded
/// in place (no copy) and its frames routed into the engine. A batch that fails
/// validation is rejected whole and counted by reason; it never disturbs others.
public final class ZeroMQSource: @unchecked Sendable {
    public let endpoint: String
    private let socket: ZMQSocket
    private let port: IngestPort
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// Counters published by the ingest thread.
    public let batches = Atomic<UInt64>(0)
    public let bytes = Atomic<UInt64>(0)
    public let frames = Atomic<UInt64>(0)
    /// Rejected batches by ``WireRejectReason`` raw value.
    private let rejected = Mutex([WireRejectReason: UInt64]())
    /// Frames per producer, shared by the collector's sources.
    private let producers: ProducerLedger

    /// Binds the socket now (so a bad endpoint fails at start); the thread starts with ``start()``.
    /// - Parameter receiveQueue: batches ZeroMQ may hold for each connected producer (`ZMQ_RCVHWM`).
    public init(context: ZMQContext, endpoint: String, port: IngestPort,
                producers: ProducerLedger = ProducerLedger(), receiveQueue: Int = DaemonConfiguration.defaultReceiveQueue) throws(ZMQError) {
        self.endpoint = endpoint
        self.port = port
        self.producers = producers
        socket = try ZMQSocket(context: context, type: .pull)
        try socket.setReceiveHighWaterMark(Int32(clamping: receiveQueue))
        try socket.setReceiveTimeout(milliseconds: 100)
        try socket.bind(endpoint)
    }

    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "tally.ingest"
        thread.start()
    }

    /// Stops receiving (batches ZeroMQ still holds are not taken) and closes the socket.
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
            batches.add(1, ordering: .relaxed)
            bytes.add(UInt64(message.count), ordering: .relaxed)
            let outcome: Result<Int, WireError> = message.withUnsafeBytes { raw in
                Result { () throws(WireError) -> Int in
                    let view = try decoder.decode(raw)
                    let dropped = port.ingest(view)
                    producers.record(producer: view.producerID, frames: UInt64(view.frameCount), dropped: dropped)
                    return view.frameCount
                }
            }
            switch outcome {
            case .success(let count): frames.add(UInt64(count), ordering: .relaxed)
            case .failure(let error): rejected.withLock { $0[error.reason, default: 0] += 1 }
            }
        }
        socket.close()
        finished.signal()
    }
}
