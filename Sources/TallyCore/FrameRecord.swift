import TallyWire

/// One frame ready for aggregation: its series key (symbols), the shard-routing
/// hash, its measurements and its cost. A plain value, copied through the
/// ingest → shard rings.
public struct FrameRecord: Sendable {
    public var key: SeriesKey
    public var routingHash: UInt64
    public var eventTimeMicros: UInt64
    public var userHash: UInt64
    public var sessionHash: UInt64
    /// US dollars; NaN when the model has no price (counted as unpriced).
    public var cost: Double
    public var queueTimeMicros: UInt32
    /// ``WireLimits/absent32`` when absent.
    public var timeToFirstTokenMicros: UInt32
    public var totalLatencyMicros: UInt32
    public var inputTokens: UInt32
    public var outputTokens: UInt32
    public var cachedInputTokens: UInt32
    /// Symbol of the error class; ``SymbolTable/none`` when none.
    public var errorClass: UInt32
    /// ``WireLimits/noCategory`` when absent.
    public var categoryID: UInt16
    public var status: RequestStatus
    public var outcome: OutcomeBits
    public var safetySeverity: SafetySeverity
    public var safetyKinds: SafetyKinds

    /// Time per output token in µs: (total − TTFT) / (output tokens − 1), defined
    /// when TTFT is present and at least two tokens were generated; else nil.
    @inlinable
    public var timePerOutputTokenMicros: Double? {
        guard timeToFirstTokenMicros != WireLimits.absent32, outputTokens >= 2 else { return nil }
        return Double(totalLatencyMicros - timeToFirstTokenMicros) / Double(outputTokens - 1)
    }
}
