/// Canary against stable for one model over one window or span (INDEX.md, "Canary").
public struct CanaryVerdict: Sendable, Codable, Equatable {
    public enum Decision: String, Sendable, Codable {
        case promote
        /// Not enough data, or a difference beyond tolerance that is not significant yet.
        case hold
        /// A significant regression beyond the policy's tolerance.
        case rollBack = "roll_back"
    }

    public var model: String
    public var stableVersions: [String]
    public var canaryVersions: [String]
    public var stableRequests: UInt64
    public var canaryRequests: UInt64
    public var verdict: Decision
    /// The KPIs that decided a roll_back or hold.
    public var decidedBy: [KPI]
    public var reason: String
    public var kpis: [Comparison]

    enum CodingKeys: String, CodingKey {
        case model, verdict, reason, kpis
        case stableVersions = "stable_versions"
        case canaryVersions = "canary_versions"
        case stableRequests = "stable_requests"
        case canaryRequests = "canary_requests"
        case decidedBy = "decided_by"
    }

    public struct Comparison: Sendable, Codable, Equatable {
        public var kpi: KPI
        public var stable: Double?
        public var canary: Double?
        /// canary − stable (positive: canary is higher).
        public var delta: Double?
        public var ratio: Double?
        /// One-sided: that the canary is worse.
        public var pValue: Double?
        /// Worse than stable beyond the tolerance, and significant.
        public var regression: Bool
        /// Worse beyond the tolerance but not (yet) significant.
        public var suspect: Bool

        enum CodingKeys: String, CodingKey {
            case kpi, stable, canary, delta, ratio, regression, suspect
            case pValue = "p_value"
        }
    }
}
