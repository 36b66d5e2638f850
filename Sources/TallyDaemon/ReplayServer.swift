import Foundation
import Synchronization
import ZeroMQ

/// Serves stored snapshots by sequence range from the data directory (ZeroMQ REP),
/// so a PUB subscriber that saw a gap can fill it.
///
/// Request: one part, ASCII `"<first> <last>"` (inclusive). Reply: a first part
/// `"ok <n>"` then n parts, the snapshots' SnapshotCodec bytes in sequence order
/// (at most ``maxPerReply`` snapshots and ``maxReplyBytes`` of them, but at least one;
/// ask again from the last one + 1); or one part `"error <reason>"` for a malformed
/// request. A reply is built reading only the files that hold the range, one record at a
/// time, and stops at those bounds.
public final class ReplayServer: @unchecked Sendable {
    public static let maxPerReply = 1_000
    /// Payload bytes a reply carries at most (unless its first snapshot alone is larger).
    public static let maxReplyBytes = 64 << 20
    private let socket: ZMQSocket
    private let directory: String
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    public let served = Atomic<UInt64>(0)

    /// - Parameter curveSecretKey: with a key, a CURVE server: clients need the server's public key.
    public init(context: ZMQContext, endpoint: String, directory: String, curveSecretKey: [UInt8]? = nil) throws(ZMQError) {
        self.directory = directory
        socket = try ZMQSocket(context: context, type: .rep)
        try socket.setReceiveTimeout(milliseconds: 100)
        try socket.setMaxMessageSize(4_096)  // a request is one short line of text
        if let curveSecretKey {
            try socket.setCurveServer(secretKey: curveSecretKey)
            try socket.setZAPDomain(IngestGate.outputDomain)
        }
        try socket.bind(endpoint)
        let thread = Thread { [self] in run() }
        thread.name = "tally.replay"
        thread.start()
    }

    public func stop() {
        stopping.store(true, ordering: .releasing)
        finished.wait()
    }

    /// The reply parts for a request text.
    static func reply(to request: String, directory: String) -> [[UInt8]] {
        let fields = request.split(separator: " ")
        guard fields.count == 2, let first = UInt64(fields[0]), let last = UInt64(fields[1]), first <= last else {
            return [Array("error expected \"<first> <last>\" with first ≤ last".utf8)]
        }
        var seen = Set<UInt64>()
        let records = SnapshotLog.read(directory: directory, sequences: first...last, maxRecords: maxPerReply,
                                       maxBytes: maxReplyBytes).records
            .filter { seen.insert($0.sequence).inserted }
            .sorted { $0.sequence < $1.sequence }
        return [Array("ok \(records.count)".utf8)] + records.map(\.payload)
    }

    private func run() {
        while !stopping.load(ordering: .acquiring) {
            let request: [[UInt8]]
            do {
                request = try socket.receiveMultipart()
            } catch {
                if error.isWouldBlock || error.isInterrupted { continue }
                break
            }
            let text = String(decoding: request.first ?? [], as: UTF8.self)
            let parts = ReplayServer.reply(to: text, directory: directory)
            do {
                try socket.send(multipart: parts)
                served.add(UInt64(parts.count - 1), ordering: .relaxed)
            } catch {
                continue
            }
        }
        socket.close()
        finished.signal()
    }
}
