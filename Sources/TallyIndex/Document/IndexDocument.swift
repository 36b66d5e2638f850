/// The index of one window or one rolling span, layered as operators read it
/// (INDEX.md specifies every field): the executive layer, the breakdown by scope,
/// alerts, drift, fairness and canary verdicts. Numbers that are undefined (no
/// traffic, no baseline) are absent from the JSON, never NaN.
public struct IndexDocument: Sendable, Codable, Equatable {
    public static let formatVersion = 1
    public var format = IndexDocument.formatVersion
    public var collector: String
    /// `window`, or the name of a rolling span (`5m`, `1h`, …).
    public var span: String
    public var startMicros: UInt64
    public var endMicros: UInt64
    /// Windows merged into this document (1 for `window`).
    public var windows: Int
    public var executive: Executive
    public var scopes: [ScopeReport]
    public var alerts: AlertsSection
    public var drift: [DriftReport]
    public var fairness: [FairnessReport]
    public var canary: [CanaryVerdict]
    /// Who is burning the budget: the heavy hitters merged over the slices (and the span's
    /// windows); nil (absent) when the snapshots keep none.
    public var budget: BudgetReport?

    enum CodingKeys: String, CodingKey {
        case format, collector, span, windows, executive, scopes, alerts, drift, fairness, canary, budget
        case startMicros = "start_us"
        case endMicros = "end_us"
    }

    /// The top layer: one line per question an executive asks.
    public struct Executive: Sendable, Codable, Equatable {
        /// The worst light of every judged KPI, drift, fairness gap and canary verdict.
        public var overall: Light
        public var action: String
        public var requests: UInt64
        public var quality: Indicator
        public var costPerQuery: Indicator
        public var safetyIncidents: Indicator
        public var criticalIncidents: Indicator
        /// Share of requests within the latency_p95 green boundary.
        public var latencySLOAttainment: Indicator
        public var drift: Light
        public var openAlerts: Int
        public var firingAlerts: Int
        /// Scopes red / yellow / green / insufficient_data (by their worst KPI light).
        public var scopeLights: [String: Int]

        enum CodingKeys: String, CodingKey {
            case overall, action, requests, quality, drift
            case costPerQuery = "cost_per_query"
            case safetyIncidents = "safety_incidents"
            case criticalIncidents = "critical_incidents"
            case latencySLOAttainment = "latency_slo_attainment"
            case openAlerts = "open_alerts"
            case firingAlerts = "firing_alerts"
            case scopeLights = "scope_lights"
        }
    }

    public struct Indicator: Sendable, Codable, Equatable {
        public var value: Double?
        public var light: Light
        public var action: String?
        public init(value: Double?, light: Light, action: String? = nil) {
            self.value = value.flatMap { $0.isFinite ? $0 : nil }
            self.light = light
            self.action = action
        }
    }

    /// One scope with every KPI and its light (the breakdown layer).
    public struct ScopeReport: Sendable, Codable, Equatable {
        public var scope: String
        public var kind: String
        public var labels: [String: String]
        public var requests: UInt64
        /// The worst light of its KPIs.
        public var light: Light
        public var kpis: [KPIReport]
    }

    public struct KPIReport: Sendable, Codable, Equatable {
        public var kpi: KPI
        public var value: Double?
        public var light: Light
        /// The recommended action, for yellow, red and insufficient data.
        public var action: String?

        public init(kpi: KPI, value: Double?, light: Light, action: String?) {
            self.kpi = kpi
            self.value = value.flatMap { $0.isFinite ? $0 : nil }
            self.light = light
            self.action = action
        }
    }

    public struct AlertsSection: Sendable, Codable, Equatable {
        /// Alerts pending or firing after this window.
        public var open: [Alert]
        /// This window's transitions (in the `window` document only).
        public var events: [AlertEvent]
    }
}
