/// One inference request, as a producer describes it. ``BatchEncoder`` turns it into
/// wire bytes; FORMAT.md gives each field's units and limits.
///
/// Strings (dimensions and tags) are interned per batch by the encoder, so a
/// producer may pass the same `String` values again and again at no extra cost.
/// Identifiers are never carried raw: hash users and sessions with
/// ``IdentifierHash/hash(_:)`` before they get here.
public struct TraceFrame: Sendable, Hashable {
    /// When the request arrived, in microseconds since the Unix epoch (UTC).
    public var eventTimeMicros: UInt64
    /// Model name, e.g. `"llama-3.1-70b"`. Required, 1–255 UTF-8 bytes.
    public var model: String
    /// Model version or checkpoint; `nil` when unknown.
    public var modelVersion: String?
    /// Prompt template version; `nil` when unknown.
    public var promptVersion: String?
    /// Route or use case, e.g. `"chat"`, `"summarize"`; `nil` when unknown.
    public var route: String?
    public var ring: DeploymentRing
    /// Cohort tags (tenant, region, language, plan tier, …): at most 8, distinct keys.
    public var tags: [CohortTag]

    /// Time spent queued before inference began, in microseconds.
    public var queueTimeMicros: UInt32
    /// Time from arrival to the first output token, in microseconds; `nil` when no
    /// token was produced or the request was not streamed. At most ``totalLatencyMicros``.
    public var timeToFirstTokenMicros: UInt32?
    /// Time from arrival to the last byte of the response, in microseconds.
    public var totalLatencyMicros: UInt32

    /// Prompt tokens, including those read from and written to a prompt cache.
    public var inputTokens: UInt32
    /// Generated tokens, including reasoning tokens.
    public var outputTokens: UInt32
    /// Prompt tokens read from the prompt cache (cache hits).
    public var cachedInputTokens: UInt32
    /// Prompt tokens written to the prompt cache (billed as cache writes); with
    /// ``cachedInputTokens`` at most ``inputTokens``.
    public var cacheCreationInputTokens: UInt32
    /// Output tokens spent on reasoning; at most ``outputTokens``.
    public var reasoningOutputTokens: UInt32

    public var status: RequestStatus
    /// Error class, e.g. `"oom"`, `"upstream_5xx"`; `nil` when none.
    public var errorClass: String?
    public var outcome: OutcomeBits
    public var safetyKinds: SafetyKinds
    /// Must be `.none` exactly when ``safetyKinds`` is empty.
    public var safetySeverity: SafetySeverity

    /// Hashed user id (``IdentifierHash``); 0 when unknown.
    public var userHash: UInt64
    /// Hashed session id; 0 when unknown.
    public var sessionHash: UInt64
    /// Category of the input (intent or topic id) for drift; `nil` when unknown. 0–65,534.
    public var categoryID: UInt16?

    public init(
        eventTimeMicros: UInt64, model: String, modelVersion: String? = nil, promptVersion: String? = nil,
        route: String? = nil, ring: DeploymentRing = .stable, tags: [CohortTag] = [],
        queueTimeMicros: UInt32 = 0, timeToFirstTokenMicros: UInt32? = nil, totalLatencyMicros: UInt32,
        inputTokens: UInt32 = 0, outputTokens: UInt32 = 0, cachedInputTokens: UInt32 = 0,
        cacheCreationInputTokens: UInt32 = 0, reasoningOutputTokens: UInt32 = 0,
        status: RequestStatus = .ok, errorClass: String? = nil, outcome: OutcomeBits = OutcomeBits(),
        safetyKinds: SafetyKinds = [], safetySeverity: SafetySeverity = .none,
        userHash: UInt64 = 0, sessionHash: UInt64 = 0, categoryID: UInt16? = nil
    ) {
        self.eventTimeMicros = eventTimeMicros
        self.model = model
        self.modelVersion = modelVersion
        self.promptVersion = promptVersion
        self.route = route
        self.ring = ring
        self.tags = tags
        self.queueTimeMicros = queueTimeMicros
        self.timeToFirstTokenMicros = timeToFirstTokenMicros
        self.totalLatencyMicros = totalLatencyMicros
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
        self.reasoningOutputTokens = reasoningOutputTokens
        self.status = status
        self.errorClass = errorClass
        self.outcome = outcome
        self.safetyKinds = safetyKinds
        self.safetySeverity = safetySeverity
        self.userHash = userHash
        self.sessionHash = sessionHash
        self.categoryID = categoryID
    }
}

/// One cohort dimension of a request, e.g. `tenant=acme`.
public struct CohortTag: Sendable, Hashable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}
