import CZeroMQ

extension ZMQSocket {
    @usableFromInline
    func setOption(_ option: Int32, _ value: Int32, _ name: String) throws(ZMQError) {
        var value = value
        guard zmq_setsockopt(try open, option, &value, MemoryLayout<Int32>.size) == 0 else {
            throw .last("zmq_setsockopt \(name)")
        }
    }

    func setOption(_ option: Int32, bytes: [UInt8], _ name: String) throws(ZMQError) {
        let handle = try open
        let result = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard result == 0 else { throw .last("zmq_setsockopt \(name)") }
    }

    func getOption(_ option: Int32, _ name: String) throws(ZMQError) -> Int32 {
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(try open, option, &value, &size) == 0 else {
            throw .last("zmq_getsockopt \(name)")
        }
        return value
    }

    /// Messages queued for sending per peer before sends block or fail with `EAGAIN`
    /// (0 = unlimited; libzmq's default is 1000).
    public func setSendHighWaterMark(_ messages: Int32) throws(ZMQError) {
        try setOption(ZMQ_SNDHWM, messages, "ZMQ_SNDHWM")
    }

    /// Messages queued on the receiving side per peer before the sender is pushed back.
    public func setReceiveHighWaterMark(_ messages: Int32) throws(ZMQError) {
        try setOption(ZMQ_RCVHWM, messages, "ZMQ_RCVHWM")
    }

    /// How long `close` keeps unsent messages, in milliseconds (-1 = forever, 0 = discard).
    public func setLinger(milliseconds: Int32) throws(ZMQError) {
        try setOption(ZMQ_LINGER, milliseconds, "ZMQ_LINGER")
    }

    /// A receive waits at most this long, in milliseconds, then fails with `EAGAIN` (-1 = forever).
    public func setReceiveTimeout(milliseconds: Int32) throws(ZMQError) {
        try setOption(ZMQ_RCVTIMEO, milliseconds, "ZMQ_RCVTIMEO")
    }

    /// A send waits at most this long, in milliseconds, then fails with `EAGAIN` (-1 = forever).
    public func setSendTimeout(milliseconds: Int32) throws(ZMQError) {
        try setOption(ZMQ_SNDTIMEO, milliseconds, "ZMQ_SNDTIMEO")
    }

    /// With `true`, messages are queued only to completed connections: with no peer
    /// connected, a `DONTWAIT` send fails at once instead of filling a queue.
    public func setImmediate(_ on: Bool) throws(ZMQError) {
        try setOption(ZMQ_IMMEDIATE, on ? 1 : 0, "ZMQ_IMMEDIATE")
    }

    /// XPUB only: with `true`, a subscriber at its high-water mark makes sends fail
    /// with `EAGAIN` (or block) instead of dropping the message silently.
    public func setNoDrop(_ on: Bool) throws(ZMQError) {
        try setOption(ZMQ_XPUB_NODROP, on ? 1 : 0, "ZMQ_XPUB_NODROP")
    }

    /// SUB only: receive messages whose first part starts with `prefix` (empty = all).
    public func subscribe(_ prefix: [UInt8] = []) throws(ZMQError) {
        try setOption(ZMQ_SUBSCRIBE, bytes: prefix, "ZMQ_SUBSCRIBE")
    }

    public func unsubscribe(_ prefix: [UInt8] = []) throws(ZMQError) {
        try setOption(ZMQ_UNSUBSCRIBE, bytes: prefix, "ZMQ_UNSUBSCRIBE")
    }

    /// Whether the last received part has more parts following it.
    public var receiveMore: Bool {
        get throws(ZMQError) { try getOption(ZMQ_RCVMORE, "ZMQ_RCVMORE") != 0 }
    }

    /// The largest message this socket accepts, in bytes (-1 = no limit, libzmq's default).
    /// A peer announcing a bigger message is disconnected as soon as its size header
    /// arrives: the message is never allocated.
    public func setMaxMessageSize(_ bytes: Int64) throws(ZMQError) {
        var value = bytes
        guard zmq_setsockopt(try open, ZMQ_MAXMSGSIZE, &value, MemoryLayout<Int64>.size) == 0 else {
            throw .last("zmq_setsockopt ZMQ_MAXMSGSIZE")
        }
    }

    /// TCP keepalive on the socket's tcp:// connections (`ZMQ_TCP_KEEPALIVE*`): the kernel
    /// probes a connection idle for `idleSeconds`, every `intervalSeconds`, and closes it
    /// after `count` unanswered probes. A peer's kernel answers even while its
    /// application is behind, so this closes only connections to hosts that are gone.
    public func setTCPKeepalive(idleSeconds: Int32, intervalSeconds: Int32, count: Int32) throws(ZMQError) {
        try setOption(ZMQ_TCP_KEEPALIVE, 1, "ZMQ_TCP_KEEPALIVE")
        try setOption(ZMQ_TCP_KEEPALIVE_IDLE, idleSeconds, "ZMQ_TCP_KEEPALIVE_IDLE")
        try setOption(ZMQ_TCP_KEEPALIVE_INTVL, intervalSeconds, "ZMQ_TCP_KEEPALIVE_INTVL")
        try setOption(ZMQ_TCP_KEEPALIVE_CNT, count, "ZMQ_TCP_KEEPALIVE_CNT")
    }

    /// A connection whose ZMTP handshake (greeting, security) has not finished after
    /// this many milliseconds is closed (0 = never; libzmq's default is 30,000).
    public func setHandshakeInterval(milliseconds: Int32) throws(ZMQError) {
        try setOption(ZMQ_HANDSHAKE_IVL, milliseconds, "ZMQ_HANDSHAKE_IVL")
    }

    /// ZMTP heartbeats: a PING every `interval` ms; a connection on which libzmq decoded
    /// nothing (no PONG, no message) for `timeout` ms after a PING is closed. Beware on a
    /// receiving socket: while its receive queue is full libzmq decodes nothing, so a
    /// healthy peer whose receiver is merely behind for `timeout` ms is disconnected, and
    /// what it had in flight is lost without a count (libzmq 4.3; tallyd's ingest does
    /// not use heartbeats for that reason, see IngestSocketSettings).
    public func setHeartbeat(intervalMilliseconds interval: Int32, timeoutMilliseconds timeout: Int32) throws(ZMQError) {
        try setOption(ZMQ_HEARTBEAT_IVL, interval, "ZMQ_HEARTBEAT_IVL")
        try setOption(ZMQ_HEARTBEAT_TIMEOUT, timeout, "ZMQ_HEARTBEAT_TIMEOUT")
    }

    /// The ZAP domain sent with this socket's authentication requests (RFC 27). With a
    /// non-empty domain, even NULL-mechanism connections are put to the ZAP handler.
    public func setZAPDomain(_ domain: String) throws(ZMQError) {
        try setOption(ZMQ_ZAP_DOMAIN, bytes: Array(domain.utf8), "ZMQ_ZAP_DOMAIN")
    }

    /// Reports this socket's connection events as two-part messages on a PAIR socket
    /// bound by libzmq at `endpoint` (an `inproc://` name); read them with ``ZMQMonitorEvent``.
    /// - Parameter events: a mask of `ZMQ_EVENT_*` values.
    public func monitor(endpoint: String, events: Int32) throws(ZMQError) {
        guard zmq_socket_monitor(try open, endpoint, events) == 0 else { throw .last("zmq_socket_monitor \(endpoint)") }
    }

    /// Stops this socket's monitor, if any.
    public func stopMonitor() {
        if let handle { zmq_socket_monitor(handle, nil, 0) }
    }

    // MARK: CURVE (encryption and authentication)

    /// Makes this socket a CURVE server with its 32-byte secret key.
    public func setCurveServer(secretKey: [UInt8]) throws(ZMQError) {
        try setOption(ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER")
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: secretKey, "ZMQ_CURVE_SECRETKEY")
    }

    /// Makes this socket a CURVE client of the server with `serverKey`.
    public func setCurveClient(serverKey: [UInt8], publicKey: [UInt8], secretKey: [UInt8]) throws(ZMQError) {
        try setOption(ZMQ_CURVE_SERVERKEY, bytes: serverKey, "ZMQ_CURVE_SERVERKEY")
        try setOption(ZMQ_CURVE_PUBLICKEY, bytes: publicKey, "ZMQ_CURVE_PUBLICKEY")
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: secretKey, "ZMQ_CURVE_SECRETKEY")
    }
}
