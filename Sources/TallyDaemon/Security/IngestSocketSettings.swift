import ZeroMQ

/// How an ingest PULL socket is set up: its bounds (from the ``IngestBudget``) and its
/// security. One value for every ingest endpoint of a collector.
///
/// No ZMTP heartbeat: libzmq decodes nothing, PONGs included, from a connection whose
/// receive queue is full, so a heartbeat timeout closed healthy producers whenever the
/// ingest was behind for that long (a 12-s window flush under load did it), and the
/// batches they had in flight were lost without a count (issue 18). Dead hosts are
/// found by TCP keepalive instead; a peer stalled mid-message keeps its connection slot
/// (one of `max_connections`) and at most one partial message of ≤ 1 MiB, which the
/// budget already counts.
public struct IngestSocketSettings: Sendable {
    /// `ZMQ_RCVHWM`: batches queued per connection, ≥ 1.
    public var receiveQueueBatches: Int
    /// `ZMQ_MAXMSGSIZE`: a bigger message closes its connection before it is allocated.
    public var maxMessageBytes: Int = IngestBudget.maxMessageBytes
    /// The CURVE server's 32-byte secret key; nil = plain ZMTP (NULL mechanism).
    public var curveSecretKey: [UInt8]? = nil
    /// A connection must finish its ZMTP handshake within this many ms, or it is closed.
    public var handshakeMillis: Int32 = 5_000
    /// TCP keepalive of tcp:// connections: first probe after this many idle seconds, then
    /// every ``keepaliveIntervalSeconds``; ``keepaliveProbes`` unanswered probes close it.
    public var keepaliveIdleSeconds: Int32 = 30
    public var keepaliveIntervalSeconds: Int32 = 10
    public var keepaliveProbes: Int32 = 3
    /// At stop, how long queued batches are still aggregated (ms); what ZeroMQ holds
    /// after that is read and counted as dropped, never silently discarded.
    public var drainMillis: Int = 2_000

    public init(receiveQueueBatches: Int) {
        self.receiveQueueBatches = receiveQueueBatches
    }

    /// Applies these settings to an ingest socket (before it binds).
    public func configure(_ socket: ZMQSocket) throws(ZMQError) {
        try socket.setReceiveHighWaterMark(Int32(clamping: receiveQueueBatches))
        try socket.setMaxMessageSize(Int64(maxMessageBytes))
        try socket.setHandshakeInterval(milliseconds: handshakeMillis)
        try socket.setTCPKeepalive(idleSeconds: keepaliveIdleSeconds, intervalSeconds: keepaliveIntervalSeconds,
                                   count: keepaliveProbes)
        if let curveSecretKey { try socket.setCurveServer(secretKey: curveSecretKey) }
    }
}
