import Foundation
import Synchronization
import ZeroMQ

/// Admission for the ingest sockets: the ZAP handler (ZeroMQ's authentication
/// protocol, RFC 27 — https://rfc.zeromq.org/spec/27/) of tallyd's ZeroMQ context, and
/// the watcher of the ingest sockets' connections, on one thread (`tally.gate`).
///
/// libzmq asks the handler bound at `inproc://zeromq.zap.01` about every new connection
/// of a socket that has a ZAP domain (all of tallyd's do) before any of the
/// connection's messages is delivered. For the ingest domain (``ingestDomain``) the gate
/// answers 200 only when the connection is within ``IngestBudget/maxConnections`` admitted
/// ingest connections and, with CURVE, when the client's public key is in the
/// ``ProducerAllowlist``. Otherwise it answers 300 ("temporary"): libzmq closes the
/// connection when the handshake interval ends, without a ZMTP ERROR, and the producer
/// reconnects later by itself. Other domains (PUB, replay) are answered 200: CURVE's
/// handshake has already proven that the client holds the server's public key.
///
/// Admitted connections are counted from socket monitors on the ingest sockets, which
/// tell when each connection (by descriptor) was accepted and when it closed, but not
/// which one a ZAP answer or a handshake result was for (libzmq 4.3's monitor events name
/// the bound endpoint, not the peer). So a slot is taken by each open connection accepted
/// more than ``settledNanos`` ago (libzmq has closed every one whose handshake did not
/// finish by then, refused ones included: what is left was admitted), and by each 200
/// answer of the last ``settledNanos`` (a connection admitted recently), at most as many
/// as the open connections accepted in that time (``slotsTaken()`` errs toward refusing).
/// Open connections are checked against the open descriptors before anyone is refused.
/// A connection still in its handshake, or refused and held by libzmq until the handshake
/// interval ends, takes no slot: a burst of newcomers (a fleet reconnecting at once after a
/// restart, or a storm of connects) admits the first ones answered up to the limit. When the
/// limit counted every open TCP connection, a burst accepted by TCP before the first answers
/// was mostly refused with slots free (40 newcomers, 31 free slots: 11 and 12 admitted in two
/// runs; AttackTests). Failed handshakes are counted by ``IngestRefusalReason``.
public final class IngestGate: @unchecked Sendable {
    /// The ZAP domain of the ingest sockets.
    public static let ingestDomain = "tally.ingest"
    /// The ZAP domain of the PUB and replay sockets.
    public static let outputDomain = "tally.output"
    private static let zapEndpoint = "inproc://zeromq.zap.01"

    public let maxConnections: Int
    private let allowlist: ProducerAllowlist?
    private let context: ZMQContext
    private let zap: ZMQSocket
    private var monitors: [ZMQSocket] = []
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var started = false
    /// Open connections per monitored socket: file descriptor → when it was accepted
    /// (monotonic ns). Gate thread only.
    private var open: [[Int32: UInt64]] = []
    /// When (monotonic ns) each 200 answer of the last ``settledNanos`` was given, oldest
    /// first; the newest ``maxConnections`` at most (no more can count). Gate thread only.
    private var grants: [UInt64] = []
    /// The ingest sockets' handshake interval (``IngestSocketSettings/handshakeMillis``,
    /// 5 s) plus 1 s: a connection open longer than this finished its handshake.
    static let settledNanos: UInt64 = 6_000_000_000
    private let state = Mutex(Counts())

    struct Counts {
        var accepted: UInt64 = 0
        var open: Int = 0
        var refused: [IngestRefusalReason: UInt64] = [:]
    }

    /// Binds the ZAP endpoint now: it must exist before the first socket with a ZAP
    /// domain binds, or libzmq admits that socket's peers unchecked.
    /// - Parameter allowlist: the producers' keys when the ingest uses CURVE, else nil.
    public init(context: ZMQContext, maxConnections: Int, allowlist: ProducerAllowlist?) throws(ZMQError) {
        self.context = context
        self.maxConnections = maxConnections
        self.allowlist = allowlist
        zap = try ZMQSocket(context: context, type: .rep)
        try zap.bind(IngestGate.zapEndpoint)
    }

    /// Watches `socket`'s connections (call before it binds, before ``start()``).
    public func watch(_ socket: ZMQSocket) throws(ZMQError) {
        let endpoint = "inproc://tally.gate.monitor.\(monitors.count)"
        try socket.monitor(endpoint: endpoint, events: ZMQMonitorEvent.accepted | ZMQMonitorEvent.disconnected
                           | ZMQMonitorEvent.handshakeFailedNoDetail | ZMQMonitorEvent.handshakeFailedProtocol)
        let pair = try ZMQSocket(context: context, type: .pair)
        try pair.connect(endpoint)
        monitors.append(pair)
        open.append([:])
    }

    public func start() {
        started = true
        let thread = Thread { [self] in run() }
        thread.name = "tally.gate"
        thread.start()
    }

    /// Stops the thread and closes the gate's sockets; call after the watched sockets closed.
    public func stop() {
        if started {
            stopping.store(true, ordering: .releasing)
            finished.wait()
        }
        zap.close()
        for monitor in monitors { monitor.close() }
    }

    /// `ingest.connections.accepted` (cumulative), `ingest.connections.open` (now) and
    /// `ingest.refused.<reason>` for every ``IngestRefusalReason``.
    public var counters: [String: UInt64] {
        state.withLock { counts in
            var c = ["ingest.connections.accepted": counts.accepted, "ingest.connections.open": UInt64(counts.open)]
            for reason in IngestRefusalReason.allCases { c["ingest.refused.\(reason.name)"] = counts.refused[reason] ?? 0 }
            return c
        }
    }

    private func run() {
        defer { finished.signal() }
        guard let poller = try? ZMQPoller(sockets: [zap] + monitors) else { return }
        while !stopping.load(ordering: .acquiring) {
            guard let ready = try? poller.poll(timeoutMillis: 100) else { break }
            // Connection events first, so that a ZAP request sees its own connection counted.
            readMonitors()
            if ready.contains(0) { answerZAP() }
        }
    }

    private func readMonitors() {
        for (index, monitor) in monitors.enumerated() {
            while let parts = try? monitor.receiveMultipart(flags: .dontWait) {
                guard let event = ZMQMonitorEvent(parts: parts) else { continue }
                apply(event, socket: index)
            }
        }
    }

    private func apply(_ event: ZMQMonitorEvent, socket: Int) {
        switch event.event {
        case ZMQMonitorEvent.accepted:
            open[socket][event.value] = DispatchTime.now().uptimeNanoseconds
            state.withLock { $0.accepted += 1 }
        case ZMQMonitorEvent.disconnected:
            open[socket][event.value] = nil
        case ZMQMonitorEvent.handshakeFailedProtocol:
            let reason: IngestRefusalReason = switch event.value {
            case ZMQMonitorEvent.protocolErrorMechanismMismatch: .noKey
            case ZMQMonitorEvent.protocolErrorCryptographic: .wrongServerKey
            default: .handshakeFailed
            }
            state.withLock { $0.refused[reason, default: 0] += 1 }
        case ZMQMonitorEvent.handshakeFailedNoDetail:
            state.withLock { $0.refused[.handshakeFailed, default: 0] += 1 }
        default:
            break
        }
        let total = open.reduce(0) { $0 + $1.count }
        state.withLock { $0.open = total }
    }

    /// Forgets tracked connections whose descriptor is closed already, so that a
    /// disconnection whose monitor event is late (or was lost when the monitor's pipe was
    /// full) cannot hold a slot and refuse good producers. Runs only on the refusal path.
    /// A number reused by a newer connection stays tracked: that descriptor is open, and
    /// libzmq emits the old connection's DISCONNECTED before it closes the descriptor.
    private func pruneClosedConnections() {
        for index in open.indices {
            open[index] = open[index].filter { fd, _ in fcntl(fd, F_GETFD) != -1 || errno != EBADF }
        }
        let total = open.reduce(0) { $0 + $1.count }
        state.withLock { $0.open = total }
    }

    /// Slots taken: open connections accepted more than ``settledNanos`` ago, plus the 200
    /// answers of the last ``settledNanos`` up to the open connections accepted since.
    /// Never fewer than the admitted connections open: each admitted young one is open,
    /// young and answered after its accept, so it is among both the grants and the young
    /// ones. It may be more (a settled connection whose answer is still live, or young
    /// refused ones standing in for closed admitted ones): the count errs toward refusing.
    /// While the open connections are fewer than the limit it returns their number (an
    /// upper bound, enough to admit) without the pass over them that it costs otherwise.
    private func slotsTaken() -> Int {
        // settled + min(grants, young) ≤ settled + young = every open connection.
        let total = open.reduce(0) { $0 + $1.count }
        guard total >= maxConnections else { return total }
        let now = DispatchTime.now().uptimeNanoseconds
        while let first = grants.first, now &- first > IngestGate.settledNanos { grants.removeFirst() }
        var settled = 0, young = 0
        for connections in open {
            for accepted in connections.values {
                if now &- accepted > IngestGate.settledNanos { settled += 1 } else { young += 1 }
            }
        }
        return settled + min(grants.count, young)
    }

    /// Answers one ZAP request (RFC 27: version, request id, domain, address, identity,
    /// mechanism, credentials…; reply: version, request id, status code, status text,
    /// user id, metadata). A malformed request gets status 500.
    private func answerZAP() {
        guard let request = try? zap.receiveMultipart(flags: .dontWait) else { return }
        let version = Array("1.0".utf8)
        guard request.count >= 6, request[0] == version else {
            _ = try? zap.send(multipart: [version, request.count > 1 ? request[1] : [], Array("500".utf8),
                                          Array("malformed ZAP request".utf8), [], []])
            return
        }
        let domain = String(decoding: request[2], as: UTF8.self)
        let mechanism = String(decoding: request[5], as: UTF8.self)
        var refusal: IngestRefusalReason? = nil
        if domain == IngestGate.ingestDomain {
            if let allowlist, mechanism == "CURVE" {
                if request.count < 7 || !allowlist.allows(request[6]) { refusal = .unknownKey }
            } else if allowlist != nil {
                refusal = .noKey
            }
            if refusal == nil && slotsTaken() >= maxConnections {
                pruneClosedConnections()
                if slotsTaken() >= maxConnections { refusal = .connectionLimit }
            }
            if refusal == nil {
                if grants.count >= maxConnections { grants.removeFirst() }
                grants.append(DispatchTime.now().uptimeNanoseconds)
            }
        }
        if let refusal { state.withLock { $0.refused[refusal, default: 0] += 1 } }
        // Every refusal is 300 (temporary): libzmq then sends no ZMTP ERROR and closes the
        // connection when the handshake interval (5 s) ends, and a libzmq producer reconnects.
        // With 400 the client's libzmq may give the endpoint up for good (a protocol error ends
        // its session, zeromq/libzmq#3519): a good producer refused at a busy moment, or whose
        // key is added to the allowlist later, would never return. And a peer that ignores the
        // ERROR kept its connection (and its slot) open: seen for > 10 s with a raw ZMTP peer.
        let (code, text) = refusal.map { ("300", $0.name) } ?? ("200", "OK")
        _ = try? zap.send(multipart: [version, request[1], Array(code.utf8), Array(text.utf8), [], []])
    }
}
