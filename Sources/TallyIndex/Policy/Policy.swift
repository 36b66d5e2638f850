import TallyWire

/// What "healthy" means for a fleet: KPIs with thresholds, the scopes to judge, the
/// rolling spans, alerting, error-budget SLOs, drift, fairness and canary rules.
/// Read from a policy file (``Policy/init(file:)``, the TOML subset of the
/// configuration) over the commented default (``Policy/defaultText``).
public struct Policy: Sendable, Equatable {
    /// Scope kinds judged besides the cohorts (``cohortKeys``).
    public var scopeKinds: [Scope.Kind]
    /// Tag keys whose values are scopes (`lang=de`) and fairness cohorts.
    public var cohortKeys: [String]
    /// Rolling spans evaluated at every window besides the window itself.
    public var spans: [SpanSpec]
    /// Partial roll-ups kept per span: a span of n windows is merged from at most
    /// `spanBlocks` + 1 blocks of ⌈n / spanBlocks⌉ windows (see ``RollingSpan``).
    public var spanBlocks: Int
    public var alerts: AlertSettings
    /// Thresholds by KPI; KPIs without one are shown with light `none`.
    public var thresholds: [KPI: Threshold]
    public var slos: [SLO]
    public var drift: DriftSettings
    public var fairness: FairnessSettings
    public var canary: CanarySettings

    /// A rolling span: a name (`5m`) and its length in seconds.
    public struct SpanSpec: Sendable, Equatable {
        public var name: String
        public var seconds: Int
        /// Whole windows in the span for `windowSeconds`-long windows (at least 1).
        public func windows(windowSeconds: Int) -> Int { max(1, seconds / max(1, windowSeconds)) }
    }

    public struct AlertSettings: Sendable, Equatable {
        /// Consecutive breaching windows before an alert fires (1 fires at once).
        public var firingAfterWindows = 2
        /// Consecutive healthy windows before a firing alert resolves.
        public var resolvedAfterWindows = 3
        /// Windows a scope may be missing before `no_data` fires.
        public var noDataAfterWindows = 2
        /// A scope is watched for `no_data` once it has had at least this many
        /// requests in each of its last `noDataAfterWindows` reporting windows.
        public var noDataMinRequests: UInt64 = 100
        /// Scope kinds watched for `no_data`.
        public var noDataScopeKinds: [Scope.Kind] = [.fleet, .model, .modelVersion]
        /// Scope kinds whose KPI lights raise alerts (`cohort`: every cohort scope). The
        /// others show their lights without paging: one regression would otherwise page
        /// once per scope that contains it (its model, version, route, prompt, ring, …).
        public var kpiScopeKinds: [Scope.Kind] = [.fleet, .model, .modelRing, .cohort]
    }

    /// An error-budget objective with multi-window, multi-burn-rate alert rules
    /// (Google SRE workbook, "Alerting on SLOs": burn rate = error ratio / (1 − objective)).
    public struct SLO: Sendable, Equatable {
        public var name: String
        /// Target share of good requests, e.g. 0.995.
        public var objective: Double
        /// Statuses that count as bad requests.
        public var badStatuses: [RequestStatus]
        public var scopeKinds: [Scope.Kind]
        public var rules: [BurnRule]
    }

    /// Fires when the burn rate exceeds `burnRate` over both the long and the short
    /// span (in Tally windows); resolves when either falls below it.
    public struct BurnRule: Sendable, Equatable {
        public var name: String
        public var burnRate: Double
        public var longWindows: Int
        public var shortWindows: Int
        /// `page` or `ticket`.
        public var severity: String
    }

    public struct DriftSettings: Sendable, Equatable {
        public enum Baseline: String, Sendable, Equatable {
            /// The first `baselineWindows` windows after start, rolled up and frozen.
            case first
            /// The span before the current one (tumbling: replaced every span length).
            case previous
            /// A snapshot handed in by the host (``IndexEngine/pinBaseline(_:)``).
            case pinned
        }
        public var baseline = Baseline.first
        public var baselineWindows = 30
        /// The span compared with the baseline: `window` or a span's name.
        public var span = "window"
        public var scopeKinds: [Scope.Kind] = [.fleet, .model, .modelVersion]
        /// Requests both sides need.
        public var minRequests: UInt64 = 500
        public var bins = 10
        public var psi = Boundaries(yellow: 0.1, red: 0.25)
        public var ks = Boundaries(yellow: 0.1, red: 0.2)
        public var wasserstein = Boundaries(yellow: 0.1, red: 0.25)
        public var jensenShannon = Boundaries(yellow: 0.1, red: 0.2)
        /// Outcome drift (refusal, task success, feedback): significance level and the
        /// smallest absolute change in the rate that counts (red at 3×).
        public var outcomeAlpha = 0.001
        public var outcomeMinEffect = 0.02
    }

    /// Yellow at `yellow` or above, red at `red` or above.
    public struct Boundaries: Sendable, Equatable {
        public var yellow: Double
        public var red: Double
        public func light(_ value: Double) -> Light { value >= red ? .red : value >= yellow ? .yellow : .green }
    }

    public struct FairnessSettings: Sendable, Equatable {
        /// Cohort keys compared (defaults to ``Policy/cohortKeys``).
        public var keys: [String] = []
        /// Requests a cohort needs to take part.
        public var minRequests: UInt64 = 200
        /// Significance level of a gap.
        public var alpha = 0.001
        /// Gap boundaries per KPI. `ratio` compares worst / best, else worst − best.
        public var gaps: [KPI: Gap] = [:]

        public struct Gap: Sendable, Equatable {
            public var ratio: Bool
            public var boundaries: Boundaries
        }
    }

    public struct CanarySettings: Sendable, Equatable {
        public var kpis: [KPI] = [.latencyP95, .ttftP95, .errorRate, .timeoutRate, .refusalRate, .safetyIncidentRate]
        /// Requests each ring needs before a verdict other than `hold`.
        public var minRequests: UInt64 = 100
        public var alpha = 0.001
        /// Tolerated absolute increase of a rate.
        public var rateTolerance = 0.01
        /// Tolerated relative increase of a latency quantile or cost (0.2 = 20 %).
        public var relativeTolerance = 0.2
    }
}
