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
    /// The labels of the fleet families (`model`, `model_version`, `ring`).
    public struct LabelSet: Hashable, Sendable, Comparable {
        public var model: String
        public var version: String
        public var ring: String
        public var pairs: [(String, String)] { [("model", model), ("model_version", version), ("ring", ring)] }
        public static func < (a: Self, b: Self) -> Bool { (a.model, a.version, a.ring) < (b.model, b.version, b.ring) }
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
        }
    }

    struct State {
        var windows: [IndexDocument] = []
        var latest: [IndexDocument] = []
        var snapshot: Snapshot?
        var totals: [LabelSet: Totals] = [:]
        var admitted: Set<LabelSet> = []
        var folded: Set<LabelSet> = []
        var windowsSeen: UInt64 = 0
    }

    public let capacity: Int
    public let maxLabelSets: Int
    private let state = Mutex(State())

    public init(capacity: Int = 360, maxLabelSets: Int = 500) {
        self.capacity = max(1, capacity)
        self.maxLabelSets = max(1, maxLabelSets)
    }

    /// One window: its snapshot and its documents (window first, then spans; empty when
    /// the index is off or refused the window).
    public func record(snapshot: Snapshot, documents: [IndexDocument]) {
        state.withLock { s in
            for series in snapshot.series {
                let key = Self.fold(&s, LabelSet(model: series.labels.model, version: series.labels.modelVersion,
                                                 ring: series.labels.ring.name), limit: maxLabelSets)
                s.totals[key, default: Totals()].add(series.aggregate)
            }
            s.snapshot = snapshot
            s.windowsSeen += 1
            if !documents.isEmpty { s.latest = documents }
            if let window = documents.first(where: { $0.span == "window" }) {
                s.windows.append(window)
                if s.windows.count > capacity { s.windows.removeFirst(s.windows.count - capacity) }
            }
        }
    }

    /// The label set a series counts under: itself while fewer than `limit` are
    /// admitted, else `model="other"` (version `other`, its ring kept: 3 values).
    private static func fold(_ s: inout State, _ key: LabelSet, limit: Int) -> LabelSet {
        if s.admitted.contains(key) { return key }
        if s.admitted.count < limit {
            s.admitted.insert(key)
            return key
        }
        s.folded.insert(key)
        return LabelSet(model: "other", version: "other", ring: key.ring)
    }

    public struct View: Sendable {
        public var windows: [IndexDocument]
        public var latest: [IndexDocument]
        public var snapshot: Snapshot?
        public var totals: [LabelSet: Totals]
        public var admitted: Set<LabelSet>
        public var foldedLabelSets: Int
        public var windowsSeen: UInt64
    }

    /// A consistent copy of everything (copy-on-write: cheap until the next window).
    public var view: View {
        state.withLock {
            View(windows: $0.windows, latest: $0.latest, snapshot: $0.snapshot, totals: $0.totals, admitted: $0.admitted,
                 foldedLabelSets: $0.folded.count, windowsSeen: $0.windowsSeen)
        }
    }

    /// The newest window document, if any window has been evaluated.
    public var latestWindow: IndexDocument? { state.withLock { $0.windows.last } }
    public var windowsSeen: UInt64 { state.withLock { $0.windowsSeen } }
}
