/// How a ``TallyClient`` batches and sends. The defaults suit one inference server
/// process sending to one collector.
public struct TallyClientConfiguration: Sendable {
    /// Collector endpoints, e.g. `tcp://127.0.0.1:7411` or `ipc:///run/tally.sock`.
    /// With several, batches are spread round-robin over the connected ones.
    public var endpoints: [String]
    /// Batch size limit in bytes (1 KiB … 1 MiB); a full batch is sent at once.
    public var batchBytes: Int = 65_536
    /// A batch is sent at the latest this long after its first frame, in milliseconds.
    public var maxBatchAgeMillis: Int = 5
    /// Independent buffers that recording threads spread over (rounded up to a power
    /// of two). More lanes, less contention between threads.
    public var lanes: Int = 8
    /// Sealed batches that may wait for the sender before new ones are dropped.
    public var queueDepth: Int = 32
    /// Batches libzmq queues per collector before sends fail (`ZMQ_SNDHWM`).
    public var sendHighWaterMark: Int32 = 64
    /// How long the sender waits, in milliseconds (0 … 60,000), for room in ZeroMQ's
    /// pipe when the collectors are behind before it drops the batch as
    /// ``ClientDropReason/collectorUnavailable``. 0, the default, drops at once: an
    /// inference server's telemetry never waits for its collector. A load tester
    /// measuring a collector's capacity sets it so that a busy collector slows the
    /// sender (and, through the full queue, the producer) instead of losing frames.
    /// ``TallyClient/record(_:)`` never waits either way.
    public var sendWaitMillis: Int = 0
    /// Written into every batch header; random by default.
    public var producerID: UInt64 = UInt64.random(in: 1...UInt64.max)

    /// The collector's CURVE public key (40-character Z85, from its `.pub` file); set
    /// it, with ``curvePublicKey`` and ``curveSecretKey``, to reach a collector that
    /// runs CURVE. nil (the default) = plain ZMTP.
    public var serverPublicKey: String? = nil
    /// This producer's CURVE key pair (Z85; `tallyd keygen` writes one). Its public key
    /// must be in the collector's `curve_allowed_producers_dir`.
    public var curvePublicKey: String? = nil
    public var curveSecretKey: String? = nil

    public init(endpoints: [String]) {
        self.endpoints = endpoints
    }
}
