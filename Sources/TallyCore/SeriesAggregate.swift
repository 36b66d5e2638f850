import TallySketches
import TallyWire

/// Everything one series accumulates in one window: the production KPIs of
/// DESIGN.md ("Windows, series and snapshots"). Counters are exact; quantiles come
/// from t-digests (each with exact count, min, max and sum), distinct users and
/// sessions from HyperLogLogs.
///
/// ``add(_:)`` allocates only when a new error class or category first appears;
/// the sketches allocate their buffers as they fill.
public struct SeriesAggregate: Sendable {
    public var requests: UInt64 = 0
    /// By ``RequestStatus`` raw value.
    public var statusCounts = [UInt64](repeating: 0, count: RequestStatus.allCases.count)
    /// By error-class symbol (``SymbolTable``).
    public var errorClasses: [UInt32: UInt64] = [:]
    public var refusals: UInt64 = 0
    public var escalations: UInt64 = 0
    public var fallbacks: UInt64 = 0
    /// By ``TaskOutcome`` raw value: unknown, success, failure.
    public var taskOutcomes = [UInt64](repeating: 0, count: 3)
    public var feedbackUp: UInt64 = 0
    public var feedbackDown: UInt64 = 0
    /// Requests with a safety incident, by severity raw value (index 0 unused: none).
    public var safetyBySeverity = [UInt64](repeating: 0, count: SafetySeverity.allCases.count)
    /// Requests flagged with each kind, by bit position 0 … 15.
    public var safetyByKind = [UInt64](repeating: 0, count: 16)
    /// Requests whose model has no price: they add nothing to ``cost``.
    public var unpriced: UInt64 = 0

    public var queueTime: TDigest
    public var timeToFirstToken: TDigest
    public var totalLatency: TDigest
    public var timePerOutputToken: TDigest
    public var inputTokens: TDigest
    public var outputTokens: TDigest
    /// US dollars per request (priced requests only).
    public var cost: TDigest
    /// Cached prompt tokens, summed (the digest of input tokens counts them too).
    public var cachedInputTokens: UInt64 = 0

    public var users: HyperLogLog
    public var sessions: HyperLogLog

    /// Requests by input category (drift), at most ``maxCategories`` distinct;
    /// the rest are counted in ``otherCategories``.
    public var categories: [UInt16: UInt64] = [:]
    public var otherCategories: UInt64 = 0
    public static let maxCategories = 64

    public init(sketches: SketchParameters = SketchParameters()) {
        func digest() -> TDigest {
            TDigest(compression: sketches.compression, scale: sketches.scale, bufferCapacity: sketches.digestBuffer)
        }
        queueTime = digest(); timeToFirstToken = digest(); totalLatency = digest(); timePerOutputToken = digest()
        inputTokens = digest(); outputTokens = digest(); cost = digest()
        users = HyperLogLog(precision: sketches.hllPrecision)
        sessions = HyperLogLog(precision: sketches.hllPrecision)
    }

    /// Folds one request in.
    public mutating func add(_ r: FrameRecord) {
        requests &+= 1
        statusCounts[Int(r.status.rawValue)] &+= 1
        if r.errorClass != SymbolTable.none { errorClasses[r.errorClass, default: 0] &+= 1 }
        let outcome = r.outcome
        if outcome.refusal { refusals &+= 1 }
        if outcome.escalation { escalations &+= 1 }
        if outcome.fallback { fallbacks &+= 1 }
        taskOutcomes[Int((outcome.task ?? .unknown).rawValue)] &+= 1
        switch outcome.feedback {
        case .up: feedbackUp &+= 1
        case .down: feedbackDown &+= 1
        default: break
        }
        if r.safetySeverity != .none {
            safetyBySeverity[Int(r.safetySeverity.rawValue)] &+= 1
            var kinds = r.safetyKinds.rawValue
            while kinds != 0 {
                safetyByKind[kinds.trailingZeroBitCount] &+= 1
                kinds &= kinds &- 1
            }
        }
        queueTime.insert(Double(r.queueTimeMicros))
        if r.timeToFirstTokenMicros != WireLimits.absent32 { timeToFirstToken.insert(Double(r.timeToFirstTokenMicros)) }
        totalLatency.insert(Double(r.totalLatencyMicros))
        if let tpot = r.timePerOutputTokenMicros { timePerOutputToken.insert(tpot) }
        inputTokens.insert(Double(r.inputTokens))
        outputTokens.insert(Double(r.outputTokens))
        cachedInputTokens &+= UInt64(r.cachedInputTokens)
        if r.cost.isNaN { unpriced &+= 1 } else { cost.insert(r.cost) }
        if r.userHash != 0 { users.insert(r.userHash) }
        if r.sessionHash != 0 { sessions.insert(r.sessionHash) }
        if r.categoryID != WireLimits.noCategory {
            if categories.count < SeriesAggregate.maxCategories || categories[r.categoryID] != nil {
                categories[r.categoryID, default: 0] &+= 1
            } else {
                otherCategories &+= 1
            }
        }
    }

    /// Adds `other` (another collector's or another window's aggregate of the
    /// same series): counters add exactly, digests merge deterministically,
    /// HyperLogLogs take their union.
    /// - Throws: ``SketchError/parameterMismatch(_:)`` when sketch parameters differ.
    public mutating func merge(_ other: SeriesAggregate) throws(SketchError) {
        requests &+= other.requests
        for i in statusCounts.indices { statusCounts[i] &+= other.statusCounts[i] }
        for (symbol, count) in other.errorClasses { errorClasses[symbol, default: 0] &+= count }
        refusals &+= other.refusals
        escalations &+= other.escalations
        fallbacks &+= other.fallbacks
        for i in taskOutcomes.indices { taskOutcomes[i] &+= other.taskOutcomes[i] }
        feedbackUp &+= other.feedbackUp
        feedbackDown &+= other.feedbackDown
        for i in safetyBySeverity.indices { safetyBySeverity[i] &+= other.safetyBySeverity[i] }
        for i in safetyByKind.indices { safetyByKind[i] &+= other.safetyByKind[i] }
        unpriced &+= other.unpriced
        cachedInputTokens &+= other.cachedInputTokens
        try queueTime.merge(other.queueTime)
        try timeToFirstToken.merge(other.timeToFirstToken)
        try totalLatency.merge(other.totalLatency)
        try timePerOutputToken.merge(other.timePerOutputToken)
        try inputTokens.merge(other.inputTokens)
        try outputTokens.merge(other.outputTokens)
        try cost.merge(other.cost)
        try users.formUnion(other.users)
        try sessions.formUnion(other.sessions)
        for (category, count) in other.categories {
            if categories.count < SeriesAggregate.maxCategories || categories[category] != nil {
                categories[category, default: 0] &+= count
            } else {
                otherCategories &+= count
            }
        }
        otherCategories &+= other.otherCategories
    }

    /// Requests with any safety incident.
    public var safetyIncidents: UInt64 { safetyBySeverity.dropFirst().reduce(0, +) }
    /// Share of requests that did not end `ok` (0 when empty).
    public var errorRate: Double {
        requests == 0 ? 0 : Double(requests - statusCounts[Int(RequestStatus.ok.rawValue)]) / Double(requests)
    }
}

/// The sketch parameters of every aggregate of an engine; snapshots carry them,
/// and aggregates with different parameters do not merge.
public struct SketchParameters: Sendable, Hashable {
    public var compression = TDigest.defaultCompression
    public var scale = TDigest.defaultScale
    /// Values a digest buffers between merges (memory per busy digest ≈ 8 B each).
    public var digestBuffer = 5 * TDigest.defaultCompression
    public var hllPrecision = HyperLogLog.defaultPrecision
    public init() {}
}
