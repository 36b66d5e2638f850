import TallyWire

/// One frame ready for aggregation: its series key (symbols), the shard-routing
/// hash, its event time and its measurements (cost included). A plain value,
/// copied through the ingest → shard rings.
public struct FrameRecord: Sendable {
    public var key: SeriesKey
    public var routingHash: UInt64
    public var eventTimeMicros: UInt64
    /// What the series aggregate folds (kept whole so that a series' stash takes it
    /// with one 64-byte copy).
    public var values: FrameValues

    public init(key: SeriesKey, routingHash: UInt64, eventTimeMicros: UInt64, values: FrameValues) {
        self.key = key
        self.routingHash = routingHash
        self.eventTimeMicros = eventTimeMicros
        self.values = values
    }

    /// The same, from the measurements one by one.
    public init(key: SeriesKey, routingHash: UInt64, eventTimeMicros: UInt64, userHash: UInt64, sessionHash: UInt64,
                cost: Double, queueTimeMicros: UInt32, timeToFirstTokenMicros: UInt32, totalLatencyMicros: UInt32,
                inputTokens: UInt32, outputTokens: UInt32, cachedInputTokens: UInt32, errorClass: UInt32,
                categoryID: UInt16, status: RequestStatus, outcome: OutcomeBits, safetySeverity: SafetySeverity,
                safetyKinds: SafetyKinds) {
        self.init(key: key, routingHash: routingHash, eventTimeMicros: eventTimeMicros, values: FrameValues(
            userHash: userHash, sessionHash: sessionHash, cost: cost, queueTimeMicros: queueTimeMicros,
            timeToFirstTokenMicros: timeToFirstTokenMicros, totalLatencyMicros: totalLatencyMicros,
            inputTokens: inputTokens, outputTokens: outputTokens, cachedInputTokens: cachedInputTokens,
            errorClass: errorClass, categoryID: categoryID, safetyKinds: safetyKinds, status: status,
            outcome: outcome, safetySeverity: safetySeverity))
    }
}
