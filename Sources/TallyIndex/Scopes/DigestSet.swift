import TallyCore

/// Which sketches (distributions and the users' HyperLogLog) a roll-up merges. Cohort scopes carry only those the policy
/// judges (see ``Policy/cohortDigests``): merging every digest of every series a second
/// time for the cohorts was a third of the index's cost at 10,000 series.
public struct DigestSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let totalLatency = DigestSet(rawValue: 1 << 0)
    public static let timeToFirstToken = DigestSet(rawValue: 1 << 1)
    public static let queueTime = DigestSet(rawValue: 1 << 2)
    public static let timePerOutputToken = DigestSet(rawValue: 1 << 3)
    public static let inputTokens = DigestSet(rawValue: 1 << 4)
    public static let outputTokens = DigestSet(rawValue: 1 << 5)
    public static let cost = DigestSet(rawValue: 1 << 6)
    /// The users' HyperLogLog (distinct users).
    public static let users = DigestSet(rawValue: 1 << 7)
    public static let all: DigestSet = [.totalLatency, .timeToFirstToken, .queueTime, .timePerOutputToken, .inputTokens,
                                        .outputTokens, .cost, .users]
}

extension DigestSet {
    /// The distributions `summaries` names (a snapshot's ``Snapshot/cohortSummaries``).
    public init(summarized summaries: SummarizedDigests) {
        self = []
        if summaries.contains(.queueTime) { insert(.queueTime) }
        if summaries.contains(.timeToFirstToken) { insert(.timeToFirstToken) }
        if summaries.contains(.totalLatency) { insert(.totalLatency) }
        if summaries.contains(.inputTokens) { insert(.inputTokens) }
        if summaries.contains(.outputTokens) { insert(.outputTokens) }
        if summaries.contains(.cost) { insert(.cost) }
    }
}

extension KPI {
    /// The sketch this KPI reads; empty for counters.
    public var digest: DigestSet {
        switch self {
        case .latencyP50, .latencyP95, .latencyP99: .totalLatency
        case .ttftP50, .ttftP95: .timeToFirstToken
        case .queueP95: .queueTime
        case .tpotP50, .tpotP95: .timePerOutputToken
        case .outputTokensP95: .outputTokens
        case .costPerRequestMean, .costPerRequestP95, .costPerRequestMax, .costPerSuccessfulTask: .cost
        case .distinctUsers: .users
        default: []
        }
    }
}

extension Policy {
    /// The digests cohort scopes carry: those read by a KPI with a threshold or a fairness
    /// gap. The others are left empty there, so their KPIs are absent for cohorts.
    public var cohortDigests: DigestSet {
        var set: DigestSet = []
        for kpi in thresholds.keys { set.formUnion(kpi.digest) }
        for kpi in fairness.gaps.keys { set.formUnion(kpi.digest) }
        return set
    }
}
