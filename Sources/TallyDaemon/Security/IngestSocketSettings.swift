/// How an ingest PULL socket is set up: its bounds (from the ``IngestBudget``) and its
/// security. One value for every ingest endpoint of a collector.
public struct IngestSocketSettings: Sendable {
    /// `ZMQ_RCVHWM`: batches queued per connection, ≥ 1.
    public var receiveQueueBatches: Int
    /// `ZMQ_MAXMSGSIZE`: a bigger message closes its connection before it is allocated.
    public var maxMessageBytes: Int = IngestBudget.maxMessageBytes
    /// The CURVE server's 32-byte secret key; nil = plain ZMTP (NULL mechanism).
    public var curveSecretKey: [UInt8]? = nil
    /// A connection must finish its ZMTP handshake within this many ms, or it is closed.
    public var handshakeMillis: Int32 = 5_000
    /// ZMTP heartbeat interval (ms); a connection silent for ``heartbeatTimeoutMillis``
    /// (a stalled peer, even mid-message) is closed and what it held is freed.
    public var heartbeatMillis: Int32 = 2_000
    public var heartbeatTimeoutMillis: Int32 = 10_000
    /// At stop, how long queued batches are still aggregated (ms); what ZeroMQ holds
    /// after that is read and counted as dropped, never silently discarded.
    public var drainMillis: Int = 2_000

    public init(receiveQueueBatches: Int) {
        self.receiveQueueBatches = receiveQueueBatches
    }
}
