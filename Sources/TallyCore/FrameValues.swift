import TallyWire

/// What a series aggregate takes from one frame: a ``FrameRecord`` without its key,
/// routing hash and event time, in 64 bytes (one cache line; the record is 168).
///
/// A busy series parks the values of its next few frames in a small stash
/// (``WindowTable``) and folds them in a burst, so its aggregate's cache lines are
/// fetched once per burst rather than once per frame.
public struct FrameValues: Sendable {
    public var userHash: UInt64
    public var sessionHash: UInt64
    /// US dollars; NaN when the model has no price.
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
    public var safetyKinds: SafetyKinds
    public var status: RequestStatus
    public var outcome: OutcomeBits
    public var safetySeverity: SafetySeverity

    @inlinable
    public init(userHash: UInt64, sessionHash: UInt64, cost: Double, queueTimeMicros: UInt32,
                timeToFirstTokenMicros: UInt32, totalLatencyMicros: UInt32, inputTokens: UInt32, outputTokens: UInt32,
                cachedInputTokens: UInt32, errorClass: UInt32, categoryID: UInt16, safetyKinds: SafetyKinds,
                status: RequestStatus, outcome: OutcomeBits, safetySeverity: SafetySeverity) {
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
        self.safetyKinds = safetyKinds
        self.status = status
        self.outcome = outcome
        self.safetySeverity = safetySeverity
    }

    /// Time per output token in µs: (total − TTFT) / (output tokens − 1), defined
    /// when TTFT is present and at least two tokens were generated; else nil.
    @inlinable
    public var timePerOutputTokenMicros: Double? {
        guard timeToFirstTokenMicros != WireLimits.absent32, outputTokens >= 2 else { return nil }
        return Double(totalLatencyMicros - timeToFirstTokenMicros) / Double(outputTokens - 1)
    }
}
