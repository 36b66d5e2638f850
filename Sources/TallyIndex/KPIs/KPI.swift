import TallySketches
import TallyWire

/// A key performance indicator, by its stable name (INDEX.md, "KPIs"), computed from
/// what a scope's aggregate holds. Units: seconds for times, a fraction 0 … 1 for
/// rates and shares, US dollars for cost, plain counts otherwise.
public enum KPI: String, Sendable, CaseIterable, Codable, Comparable {
    case latencyP50 = "latency_p50"
    case latencyP95 = "latency_p95"
    case latencyP99 = "latency_p99"
    case ttftP50 = "ttft_p50"
    case ttftP95 = "ttft_p95"
    case queueP95 = "queue_p95"
    case tpotP50 = "tpot_p50"
    case tpotP95 = "tpot_p95"
    case errorRate = "error_rate"
    case timeoutRate = "timeout_rate"
    case rateLimitedRate = "rate_limited_rate"
    case refusalRate = "refusal_rate"
    case escalationRate = "escalation_rate"
    case fallbackRate = "fallback_rate"
    case taskSuccessRate = "task_success_rate"
    case positiveFeedbackShare = "positive_feedback_share"
    case safetyIncidentRate = "safety_incident_rate"
    case safetyLowRate = "safety_low_rate"
    case safetyMediumRate = "safety_medium_rate"
    case safetyHighRate = "safety_high_rate"
    case safetyCriticalRate = "safety_critical_rate"
    case criticalIncidents = "critical_incidents"
    case costPerRequestMean = "cost_per_request_mean"
    case costPerRequestP95 = "cost_per_request_p95"
    case costPerRequestMax = "cost_per_request_max"
    case costPerSuccessfulTask = "cost_per_successful_task"
    case outputTokensP95 = "output_tokens_p95"
    case requests
    case distinctUsers = "distinct_users"

    public static func < (a: KPI, b: KPI) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }

    /// The unit of ``value(_:)``: `s`, `ratio`, `usd` or `count`.
    public var unit: String {
        switch self {
        case .latencyP50, .latencyP95, .latencyP99, .ttftP50, .ttftP95, .queueP95, .tpotP50, .tpotP95: "s"
        case .costPerRequestMean, .costPerRequestP95, .costPerRequestMax, .costPerSuccessfulTask: "usd"
        case .criticalIncidents, .requests, .distinctUsers, .outputTokensP95: "count"
        default: "ratio"
        }
    }

    /// Whether the KPI is a proportion (``proportion(_:)`` gives its counts).
    public var isRate: Bool { unit == "ratio" }

    /// Whether a larger value is the worse one (the default direction of a threshold).
    public var higherIsWorse: Bool {
        switch self {
        case .taskSuccessRate, .positiveFeedbackShare, .requests, .distinctUsers: false
        default: true
        }
    }

    /// For a rate KPI: the numerator and denominator it is computed from (requests
    /// with the property, requests that could have it), which the significance tests
    /// use. Nil for distributions, costs and counts.
    public func proportion(_ a: ScopeAggregate) -> (hits: UInt64, total: UInt64)? {
        switch self {
        case .errorRate: (a.status(.error), a.requests)
        case .timeoutRate: (a.status(.timeout), a.requests)
        case .rateLimitedRate: (a.status(.rateLimited), a.requests)
        case .refusalRate: (a.refusals, a.requests)
        case .escalationRate: (a.escalations, a.requests)
        case .fallbackRate: (a.fallbacks, a.requests)
        case .taskSuccessRate: (a.taskOutcomes[1], a.taskOutcomes[1] + a.taskOutcomes[2])
        case .positiveFeedbackShare: (a.feedbackUp, a.feedbackUp + a.feedbackDown)
        case .safetyIncidentRate: (a.safetyIncidents, a.requests)
        case .safetyLowRate: (a.safetyBySeverity[1], a.requests)
        case .safetyMediumRate: (a.safetyBySeverity[2], a.requests)
        case .safetyHighRate: (a.safetyBySeverity[3], a.requests)
        case .safetyCriticalRate: (a.safetyBySeverity[4], a.requests)
        default: nil
        }
    }

    /// The digest a quantile KPI reads, with its quantile and the factor to its unit.
    public func quantileSource(_ a: ScopeAggregate) -> (digest: TDigest, q: Double, scale: Double)? {
        switch self {
        case .latencyP50: (a.totalLatency, 0.5, 1e-6)
        case .latencyP95: (a.totalLatency, 0.95, 1e-6)
        case .latencyP99: (a.totalLatency, 0.99, 1e-6)
        case .ttftP50: (a.timeToFirstToken, 0.5, 1e-6)
        case .ttftP95: (a.timeToFirstToken, 0.95, 1e-6)
        case .queueP95: (a.queueTime, 0.95, 1e-6)
        case .tpotP50: (a.timePerOutputToken, 0.5, 1e-6)
        case .tpotP95: (a.timePerOutputToken, 0.95, 1e-6)
        case .costPerRequestP95: (a.cost, 0.95, 1)
        case .outputTokensP95: (a.outputTokens, 0.95, 1)
        default: nil
        }
    }

    /// The KPI's value for a scope, or nil when it is undefined (no requests, no
    /// request with a known task outcome, no priced request, an empty digest).
    public func value(_ a: ScopeAggregate) -> Double? {
        if let (hits, total) = proportion(a) { return total == 0 ? nil : Double(hits) / Double(total) }
        if let (digest, q, scale) = quantileSource(a) { return digest.isEmpty ? nil : digest.quantile(q) * scale }
        switch self {
        case .criticalIncidents: return Double(a.safetyBySeverity[4])
        case .requests: return Double(a.requests)
        case .distinctUsers:
            // Absent where the users were not rolled up (cohorts, unless the policy judges them).
            return a.requests == 0 || (a.users.isExact && a.users.estimate == 0) ? nil : a.users.estimate.rounded()
        case .costPerRequestMean: return a.cost.isEmpty ? nil : a.cost.sum / Double(a.cost.count)
        case .costPerRequestMax: return a.cost.isEmpty ? nil : a.cost.max
        case .costPerSuccessfulTask:
            return a.taskOutcomes[1] == 0 || a.cost.isEmpty ? nil : a.cost.sum / Double(a.taskOutcomes[1])
        default: return nil
        }
    }
}
