/// A request's numbers and outcome: a ``TraceFrame`` without its labels (``FrameLabels``)
/// and without its error class (passed beside it, as it is a string). Plain data: copying
/// one costs no reference counting. FORMAT.md gives each field's units and limits.
public struct FrameMeasures: Sendable, Hashable {
    public var eventTimeMicros: UInt64
    public var queueTimeMicros: UInt32
    public var timeToFirstTokenMicros: UInt32?
    public var totalLatencyMicros: UInt32
    public var inputTokens: UInt32
    public var outputTokens: UInt32
    public var cachedInputTokens: UInt32
    public var cacheCreationInputTokens: UInt32
    public var reasoningOutputTokens: UInt32
    public var status: RequestStatus
    public var outcome: OutcomeBits
    public var safetyKinds: SafetyKinds
    public var safetySeverity: SafetySeverity
    public var userHash: UInt64
    public var sessionHash: UInt64
    public var categoryID: UInt16?

    public init(eventTimeMicros: UInt64, queueTimeMicros: UInt32 = 0, timeToFirstTokenMicros: UInt32? = nil,
                totalLatencyMicros: UInt32, inputTokens: UInt32 = 0, outputTokens: UInt32 = 0, cachedInputTokens: UInt32 = 0,
                cacheCreationInputTokens: UInt32 = 0, reasoningOutputTokens: UInt32 = 0, status: RequestStatus = .ok,
                outcome: OutcomeBits = OutcomeBits(), safetyKinds: SafetyKinds = [],
                safetySeverity: SafetySeverity = .none, userHash: UInt64 = 0, sessionHash: UInt64 = 0, categoryID: UInt16? = nil) {
        self.eventTimeMicros = eventTimeMicros
        self.queueTimeMicros = queueTimeMicros
        self.timeToFirstTokenMicros = timeToFirstTokenMicros
        self.totalLatencyMicros = totalLatencyMicros
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
        self.reasoningOutputTokens = reasoningOutputTokens
        self.status = status
        self.outcome = outcome
        self.safetyKinds = safetyKinds
        self.safetySeverity = safetySeverity
        self.userHash = userHash
        self.sessionHash = sessionHash
        self.categoryID = categoryID
    }

    /// The numbers of `frame` (its error class is ``TraceFrame/errorClass``).
    public init(of frame: borrowing TraceFrame) {
        self.init(eventTimeMicros: frame.eventTimeMicros, queueTimeMicros: frame.queueTimeMicros,
                  timeToFirstTokenMicros: frame.timeToFirstTokenMicros, totalLatencyMicros: frame.totalLatencyMicros,
                  inputTokens: frame.inputTokens, outputTokens: frame.outputTokens, cachedInputTokens: frame.cachedInputTokens,
                  cacheCreationInputTokens: frame.cacheCreationInputTokens, reasoningOutputTokens: frame.reasoningOutputTokens,
                  status: frame.status, outcome: frame.outcome, safetyKinds: frame.safetyKinds,
                  safetySeverity: frame.safetySeverity, userHash: frame.userHash, sessionHash: frame.sessionHash,
                  categoryID: frame.categoryID)
    }
}
