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

    public init(key: SeriesKey, routingHash: UInt64, eventTimeMicros: UInt64, userHash: UInt64, sessionHash: UInt64,
                cost: Double, queueTimeMicros: UInt32, timeToFirstTokenMicros: UInt32, totalLatencyMicros: UInt32,
                inputTokens: UInt32, outputTokens: UInt32, cachedInputTokens: UInt32, errorClass: UInt32,
                categoryID: UInt16, status: RequestStatus, outcome: OutcomeBits, safetySeverity: SafetySeverity,
                safetyKinds: SafetyKinds) {
        self.key = key
        self.routingHash = routingHash
        self.eventTimeMicros = eventTimeMicros
        self.userHash = userHash
        self.sessionHash = sessionHash
        self.cost = cost
        self.queueTimeMicros = queueTimeMicros
        self.timeToFirstTokenMicros = timeToFirstTokenMicros
        self.totalLatencyMicros = totalLatencyMicros
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.errorClass = errorClass
        self.categoryID = categoryID
        self.status = status
        self.outcome = outcome
        self.safetySeverity = safetySeverity
        self.safetyKinds = safetyKinds
    }

    /// Time per output token in µs (see ``FrameValues/timePerOutputTokenMicros``).
    @inlinable
    public var timePerOutputTokenMicros: Double? { values.timePerOutputTokenMicros }
}
