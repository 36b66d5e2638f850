import Synchronization
import TallyCore
import TallyIndex
import TallySketches
import TallyWire

/// What the web face serves, kept in memory and fed from tallyd's flusher (one call per
/// window, after the sinks): the last `capacity` windows' index documents, the newest
/// documents of every span, the newest snapshot, and the fleet's counters per label set
/// accumulated across windows. Readers (the HTTP event loops) copy what they need under
/// the lock; nothing here blocks ingest.
public final class WebStore: Sendable {
    /// One exposed label set of the fleet families: the values of ``MetricLabels/names``.
    public struct LabelSet: Hashable, Sendable, Comparable {
        public var values: [String]
        public static func < (a: Self, b: Self) -> Bool { a.values.lexicographicallyPrecedes(b.values) }
    }

    /// Cumulative since tallyd started (windows seen by the store).
    public struct Totals: Sendable {
        public var requests: UInt64 = 0
        /// By ``RequestStatus`` raw value.
        public var statuses = [UInt64](repeating: 0, count: 6)
        public var refusals: UInt64 = 0
        public var escalations: UInt64 = 0
        public var inputTokens = 0.0
        public var outputTokens = 0.0
        public var cachedInputTokens: UInt64 = 0
        public var costUSD = 0.0
        /// By ``SafetySeverity`` raw value (0 unused).
        public var safety = [UInt64](repeating: 0, count: 5)
        /// Total latency, TTFT and queue time (s) at ``FleetMetrics/buckets``.
        var latency = CumulativeHistogram(bounds: FleetMetrics.buckets)
        var timeToFirstToken = CumulativeHistogram(bounds: FleetMetrics.buckets)
        var queueTime = CumulativeHistogram(bounds: FleetMetrics.buckets)

        mutating func add(_ a: SeriesAggregate) {
            requests &+= a.requests
            for i in 0..<6 { statuses[i] &+= a.statusCount(i) }
            refusals &+= a.refusals
            escalations &+= a.escalations
            inputTokens += a.inputTokens.sum
            outputTokens += a.outputTokens.sum
            cachedInputTokens &+= a.cachedInputTokens
            costUSD += a.cost.sum
            for i in 1..<5 { safety[i] &+= a.safetyCount(i) }
            latency.add(a.totalLatency, unitsPer: 1e6)
            timeToFirstToken.add(a.timeToFirstToken, unitsPer: 1e6)
            queueTime.add(a.queueTime, unitsPer: 1e6)
        }
    }

    struct State {
        var windows: [IndexDocument] = []
        var latest: [IndexDocument] = []
        var snapshot: Snapshot?
        var totals: [LabelSet: Totals] = [:]
        var admitted: Set<LabelSet> = []
        var folded: Set<LabelSet> = []
        var vllm: [String: VLLMMetrics.Totals] = [:]
        var vllmFolded: Set<String> = []
        var windowsSeen: UInt64 = 0
    }

    public let capacity: Int
    public let maxLabelSets: Int
    public let labels: MetricLabels
    /// vLLM's families are accumulated (per model) only when they are served.
    public let vllmMaxModelLength: Int?
    private let state = Mutex(State())

    /// - Parameters:
    ///   - capacity: window documents kept (≥ 1).
    ///   - maxLabelSets: label sets exposed per fleet family (and models per vLLM family);
    ///     later ones fold into `other` and are counted.
    ///   - vllmMaxModelLength: the largest token bucket of vLLM's token histograms; nil
    ///     when `/metrics/vllm` is off (nothing accumulated for it).
    public init(capacity: Int = 360, maxLabelSets: Int = 500, labels: MetricLabels = .standard, vllmMaxModelLength: Int? = nil) {
        self.capacity = max(1, capacity)
        self.maxLabelSets = max(1, maxLabelSets)
        self.labels = labels
        self.vllmMaxModelLength = vllmMaxModelLength
    }

    /// One window: its snapshot and its documents (window first, then spans; empty when
    /// the index is off or refused the window). Called from one thread (the flusher): the
    /// histograms are computed on a copy outside the lock, so readers never wait for them.
    public func record(snapshot: Snapshot, documents: [IndexDocument]) {
        var s = state.withLock { $0 }
        for series in snapshot.series {
            let key = fold(&s, LabelSet(values: labels.values(series.labels)))
            s.totals[key, default: Totals()].add(series.aggregate)
            if let vllmMaxModelLength {
                var model = series.labels.model
                if s.vllm[model] == nil && s.vllm.count >= maxLabelSets {
                    s.vllmFolded.insert(model)
                    model = "other"
                }
                s.vllm[model, default: VLLMMetrics.Totals(maxModelLength: vllmMaxModelLength)].add(series.aggregate)
            }
        }
        s.snapshot = snapshot
        s.windowsSeen += 1
        if !documents.isEmpty { s.latest = documents }
        if let window = documents.first(where: { $0.span == "window" }) {
            s.windows.append(window)
            if s.windows.count > capacity { s.windows.removeFirst(s.windows.count - capacity) }
        }
        state.withLock { $0 = s }
    }

    /// The label set a series counts under: itself while fewer than ``maxLabelSets`` are
    /// admitted, else every value `other` but the ring's (at most 3 more label sets).
    private func fold(_ s: inout State, _ key: LabelSet) -> LabelSet {
        if s.admitted.contains(key) { return key }
        if s.admitted.count < maxLabelSets {
            s.admitted.insert(key)
            return key
        }
        s.folded.insert(key)
        return LabelSet(values: labels.folded(key.values))
    }

    public struct View: Sendable {
        public var windows: [IndexDocument]
        public var latest: [IndexDocument]
        public var snapshot: Snapshot?
        public var totals: [LabelSet: Totals]
        public var admitted: Set<LabelSet>
        public var foldedLabelSets: Int
        var vllm: [String: VLLMMetrics.Totals]
        public var vllmFoldedModels: Int
        public var windowsSeen: UInt64
    }

    /// A consistent copy of everything (copy-on-write: cheap until the next window).
    public var view: View {
        state.withLock {
            View(windows: $0.windows, latest: $0.latest, snapshot: $0.snapshot, totals: $0.totals, admitted: $0.admitted,
                 foldedLabelSets: $0.folded.count, vllm: $0.vllm, vllmFoldedModels: $0.vllmFolded.count, windowsSeen: $0.windowsSeen)
        }
    }

    /// The newest window document, if any window has been evaluated.
    public var latestWindow: IndexDocument? { state.withLock { $0.windows.last } }
    public var windowsSeen: UInt64 { state.withLock { $0.windowsSeen } }
}
