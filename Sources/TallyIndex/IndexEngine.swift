import TallyCore
import TallySketches

/// The index over a stream of snapshots: at every window, the KPIs and lights of
/// every scope, the rolling spans, drift against the baseline, fairness gaps, canary
/// verdicts, error-budget burn rates and the alert state machines; one
/// ``IndexDocument`` for the window and one per rolling span.
///
/// Pure: no sockets, files or clocks — time is the snapshots' window bounds. Feed
/// windows in order (``evaluate(_:)``); a window older than the last one is refused.
/// Replaying stored snapshots through a new engine rebuilds the same alert state, which
/// is how tallyd keeps alerts across a restart (neither re-paging nor forgetting).
/// Not thread-safe: one owner calls it (tallyd's flusher).
public final class IndexEngine {
    public let policy: Policy
    public let collectorID: String
    private var spans: [RollingSpan] = []
    private var windowMicros: UInt64 = 0
    private var lastEndMicros: UInt64?
    private var alerts = AlertBook()
    var burn: [String: BurnRateTracker] = [:]
    var noDataWatches: [Scope: NoDataWatch] = [:]
    private var baseline: ScopeMap = [:]
    private var baselineWindows = 0
    private var baselineFrozen = false
    private var candidate: ScopeMap = [:]
    private var candidateWindows = 0
    /// Windows evaluated so far.
    public private(set) var windowsSeen = 0
    /// The distributions the last snapshot with cohort aggregates kept as summaries there
    /// (SNAPSHOT.md, `cohort_summaries`): the KPIs that read their quantiles are not judged
    /// in cohort scopes (``judges(_:in:)``) rather than shown without data.
    public private(set) var summarizedInCohorts: DigestSet = []

    public init(policy: Policy, collectorID: String) {
        self.policy = policy
        self.collectorID = collectorID
    }

    /// Open alerts (pending and firing).
    public var openAlerts: [Alert] { alerts.open }

    /// Uses `snapshot` (e.g. a roll-up of a known-good week) as the drift baseline from now on.
    public func pinBaseline(_ snapshot: Snapshot) throws(SketchError) {
        baseline = try ScopeRollup.scopes(of: snapshot, kinds: policy.drift.scopeKinds, cohortKeys: [])
        baselineWindows = max(1, Int((snapshot.windowEndMicros - snapshot.windowStartMicros) / max(1, windowMicros)))
        baselineFrozen = true
    }

    /// Scope kinds rolled up: the policy's, plus what the executive layer, drift,
    /// the canary comparison and no-data watching read.
    private var kinds: [Scope.Kind] {
        var set = Set(policy.scopeKinds).union([.fleet, .modelRing]).union(policy.drift.scopeKinds)
        set.formUnion(policy.alerts.noDataScopeKinds)
        for slo in policy.slos { set.formUnion(slo.scopeKinds) }
        return set.sorted()
    }

    /// Evaluates one window's snapshot.
    /// - Returns: the window's document first, then one per rolling span.
    /// - Throws: ``IndexError`` for a window out of order or a sketch mismatch.
    public func evaluate(_ snapshot: Snapshot) throws(IndexError) -> [IndexDocument] {
        let start = snapshot.windowStartMicros, end = snapshot.windowEndMicros
        guard end > start else { throw .invalidWindow("window \(start)…\(end) is empty") }
        if let last = lastEndMicros, start < last {
            throw .invalidWindow("window starting \(start) is before the end of the last one (\(last))")
        }
        if windowMicros == 0 {
            windowMicros = end - start
            let seconds = Int(max(1, windowMicros / 1_000_000))
            spans = policy.spans.map { RollingSpan(name: $0.name, windows: $0.windows(windowSeconds: seconds),
                                                   blocks: policy.spanBlocks) }
        }
        // Windows without any snapshot between the last and this one (no traffic at all).
        let skipped = lastEndMicros.map { Int(min(100_000, (start - $0) / windowMicros)) } ?? 0
        lastEndMicros = end
        windowsSeen += 1
        if !snapshot.cohorts.isEmpty { summarizedInCohorts = DigestSet(summarized: snapshot.cohortSummaries) }
        do {
            let (scopes, cells) = try ScopeRollup.rollUp(snapshot, kinds: kinds, cohortKeys: cohortKeys,
                                                         cohortDigests: policy.cohortDigests,
                                                         cohortCategories: policy.drift.scopeKinds.contains(.cohort))
            let versions = Self.versions(cells)
            // The window's heavy hitters over its slices; slices that do not merge (merged
            // collectors with other capacities) leave the budget out rather than fail the window.
            let heavyHitters = (try? SliceHeavyHitters.merged(snapshot.heavyHitters)) ?? nil
            let spanResults = try advanceSpans(scopes, heavyHitters: heavyHitters, start: start, end: end, versions: versions)
            let driftReports = try drift(windowScopes: scopes)
            var observations = kpiObservations(scopes) + driftObservations(driftReports)
            let fairness = FairnessEvaluator.reports(scopes: scopes, policy: policy)
            observations += fairnessObservations(fairness)
            let canary = CanaryEvaluator.verdicts(scopes: scopes, versions: versions, settings: policy.canary)
            observations += canaryObservations(canary)
            observations += burnObservations(scopes, skipped: skipped)
            observations += noDataObservations(scopes, skipped: skipped)
            let events = alerts.observe(observations, windowStartMicros: start, windowEndMicros: end)
            try advanceBaseline(scopes)

            var documents = [document(span: "window", scopes: scopes, start: start, end: end, windows: 1,
                                      drift: driftReports, fairness: fairness, canary: canary, events: events,
                                      heavyHitters: heavyHitters)]
            for (span, result) in zip(spans, spanResults) {
                documents.append(document(
                    span: span.name, scopes: result.value.scopes, start: result.value.startMicros, end: result.value.endMicros,
                    windows: result.value.windows, drift: driftReports, fairness: result.fairness, canary: result.canary,
                    events: [], heavyHitters: result.value.heavyHitters))
            }
            return documents
        } catch {
            throw .sketch(error)
        }
    }

    /// One rolling span after this window: its merged scopes and their fairness and canary reports.
    struct SpanResult: Sendable {
        var value: (scopes: ScopeMap, startMicros: UInt64, endMicros: UInt64, windows: Int, heavyHitters: SliceHeavyHitters?)
        var fairness: [FairnessReport]
        var canary: [CanaryVerdict]
    }

    /// Adds the window to every rolling span and evaluates each; the spans are independent,
    /// so they are advanced on the available cores at once.
    private func advanceSpans(_ scopes: ScopeMap, heavyHitters: SliceHeavyHitters?, start: UInt64, end: UInt64,
                              versions: [String: [String: Set<String>]]) throws(SketchError) -> [SpanResult] {
        let policy = self.policy
        var spans = self.spans
        self.spans = []  // unique while the jobs mutate their elements
        defer { self.spans = spans }
        return try spans.withUnsafeMutableBufferPointer { (buffer) throws(SketchError) -> [SpanResult] in
            nonisolated(unsafe) let buffer = buffer
            return try concurrentMap(buffer.count) { (i) throws(SketchError) -> SpanResult in
                try buffer[i].add(scopes, heavyHitters: heavyHitters, startMicros: start, endMicros: end)
                let value = try buffer[i].value()
                return SpanResult(value: value, fairness: FairnessEvaluator.reports(scopes: value.scopes, policy: policy),
                                  canary: CanaryEvaluator.verdicts(scopes: value.scopes, versions: versions, settings: policy.canary))
            }
        }
    }

    private var cohortKeys: [String] { Array(Set(policy.cohortKeys).union(policy.fairnessKeys)).sorted() }

    /// model → ring → versions in this window, from the roll-up's base cells.
    static func versions(_ cells: [SeriesLabels]) -> [String: [String: Set<String>]] {
        var result: [String: [String: Set<String>]] = [:]
        for cell in cells { result[cell.model, default: [:]][cell.ring.name, default: []].insert(cell.modelVersion) }
        return result
    }

    // MARK: Drift baseline

    private func drift(windowScopes: ScopeMap) throws(SketchError) -> [DriftReport] {
        guard baselineFrozen else { return [] }
        let current: ScopeMap
        if policy.drift.span == "window" {
            current = windowScopes
        } else if let span = spans.first(where: { $0.name == policy.drift.span }) {
            current = try span.value().scopes
        } else {
            current = windowScopes
        }
        var reports: [DriftReport] = []
        for (scope, base) in baseline.sorted(by: { $0.key < $1.key }) where policy.drift.scopeKinds.contains(scope.kind) {
            guard let now = current[scope],
                  let report = DriftEvaluator.report(scope: scope, baseline: base, current: now,
                                                     baselineKind: policy.drift.baseline.rawValue, settings: policy.drift)
            else { continue }
            reports.append(report)
        }
        return reports
    }

    private func advanceBaseline(_ scopes: ScopeMap) throws(SketchError) {
        let driftScopes = scopes.filter { policy.drift.scopeKinds.contains($0.key.kind) }
        switch policy.drift.baseline {
        case .pinned:
            return
        case .first:
            guard !baselineFrozen else { return }
            baseline = try ScopeMaps.merged([baseline, driftScopes])
            baselineWindows += 1
            baselineFrozen = baselineWindows >= policy.drift.baselineWindows
        case .previous:
            // Tumbling: the candidate collects one span's windows, then becomes the baseline.
            let length = policy.drift.span == "window" ? policy.drift.baselineWindows
                : spans.first { $0.name == policy.drift.span }?.windows ?? policy.drift.baselineWindows
            candidate = try ScopeMaps.merged([candidate, driftScopes])
            candidateWindows += 1
            if candidateWindows >= length {
                baseline = candidate
                baselineWindows = candidateWindows
                baselineFrozen = true
                candidate = [:]
                candidateWindows = 0
            }
        }
    }
}

/// Why the index refused a snapshot.
public enum IndexError: Error, CustomStringConvertible {
    case invalidWindow(String)
    case sketch(SketchError)
    public var description: String {
        switch self {
        case .invalidWindow(let message): "index: \(message)"
        case .sketch(let error): "index: \(error)"
        }
    }
}

/// Whether a scope that reported regularly has gone quiet.
struct NoDataWatch {
    /// Requests in its last reporting windows (newest last), at most the policy's no-data windows + 1.
    var recent: [UInt64] = []
    var missing = 0
}
