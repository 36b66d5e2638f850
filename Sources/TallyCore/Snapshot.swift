import TallySketches
import TallyWire

/// One window's aggregates as a collector publishes them: self-contained (strings,
/// not symbols), mergeable across collectors (same window) and across windows
/// (rollups). SNAPSHOT.md specifies the binary form.
public struct Snapshot: Sendable {
    /// The binary version tallyd writes (SNAPSHOT.md); ``SnapshotCodec`` also reads
    /// ``SnapshotCodec/readableVersions``.
    public static let formatVersion: UInt8 = 2
    /// The JSON line's `format` (snapshot-line.schema.json): unchanged by binary version 2.
    public static let jsonFormatVersion = 1

    /// Who produced it; with ``sequences``, makes resends idempotent.
    public var collectorID: String
    public var windowStartMicros: UInt64
    /// Exclusive end: start + interval for one window, the last window's end for a rollup.
    public var windowEndMicros: UInt64
    /// The snapshot sequence numbers it covers, per collector: one entry `[s, s]` for a
    /// single window; merges concatenate, and overlapping ranges of one collector are an error.
    public var sequences: [SequenceRange]
    public var sketches: SketchParameters
    /// Series sorted by ``SeriesLabels`` (deterministic output).
    public var series: [SnapshotSeries]
    /// Cohort aggregates (SNAPSHOT.md, "Cohort aggregates"), sorted the same way: per
    /// deployment slice, one per value of each breakdown key (``TagPolicy``); labels with
    /// that one tag. They count the same frames as ``series`` again: never add the two up.
    public var cohorts: [SnapshotSeries] = []
    /// Which distributions of every cohort aggregate are summaries (exact count, min, max and
    /// sum; no quantiles): SNAPSHOT.md's `cohort_summaries`. Empty without cohorts.
    public var cohortSummaries: SummarizedDigests = []
    /// Per deployment slice, the heaviest users by requests and by cost (SNAPSHOT.md, "Heavy
    /// hitters"), sorted by labels; empty unless the collector keeps them.
    public var heavyHitters: [SliceHeavyHitters] = []
    /// The engine's own counters for the window, by stable name (e.g. `frames.accepted`,
    /// `dropped.late`, `series.folded_frames`); merged by addition.
    public var counters: [String: UInt64]

    public struct SequenceRange: Sendable, Hashable, Comparable {
        public var collectorID: String
        public var first: UInt64
        public var last: UInt64
        public init(collectorID: String, first: UInt64, last: UInt64) {
            self.collectorID = collectorID
            self.first = first
            self.last = last
        }
        public static func < (a: Self, b: Self) -> Bool { (a.collectorID, a.first, a.last) < (b.collectorID, b.first, b.last) }
    }

    public init(collectorID: String, windowStartMicros: UInt64, windowEndMicros: UInt64, sequence: UInt64,
                sketches: SketchParameters, series: consuming [SnapshotSeries], counters: [String: UInt64],
                cohorts: consuming [SnapshotSeries] = [], heavyHitters: consuming [SliceHeavyHitters] = []) {
        self.collectorID = collectorID
        self.windowStartMicros = windowStartMicros
        self.windowEndMicros = windowEndMicros
        sequences = [SequenceRange(collectorID: collectorID, first: sequence, last: sequence)]
        self.sketches = sketches
        self.series = Self.sortedByLabels(consume series)
        self.cohorts = Self.sortedByLabels(consume cohorts)
        var sortedHitters = heavyHitters
        sortedHitters.sort { $0.labels < $1.labels }
        self.heavyHitters = sortedHitters
        self.counters = counters
    }

    /// `series` in label order. The order is found on indices and applied in place by swaps
    /// along its cycles: sorting the series themselves copied each (~1 KB, a dozen
    /// references, retained and released) O(log n) times, more than the comparisons cost. A
    /// caller that gives the array up (`consume`) keeps no second copy.
    static func sortedByLabels(_ series: consuming [SnapshotSeries]) -> [SnapshotSeries] {
        var series = consume series
        guard series.count > 1 else { return series }
        // sorted[k] = series[order[k]]
        // Compared in place (``SeriesLabels/precedes(_:_:)``): through the array, each
        // comparison copied both labels (~1,900 instructions a series in all).
        let labels = series.map(\.labels)
        let order = labels.withUnsafeBufferPointer { labels in
            let base = labels.baseAddress!
            return labels.indices.sorted { SeriesLabels.precedes(base + $0, base + $1) }
        }
        var placed = [Bool](repeating: false, count: order.count)
        series.withUnsafeMutableBufferPointer { buffer in
            for start in order.indices where !placed[start] {
                // The cycle start → order[start] → …: each swap puts one element in place
                // (the buffer's swap moves memory; nothing is retained).
                var k = start
                placed[k] = true
                while order[k] != start {
                    buffer.swapAt(k, order[k])
                    k = order[k]
                    placed[k] = true
                }
            }
        }
        return series
    }

    /// Total requests over all series.
    public var requests: UInt64 { series.reduce(0) { $0 + $1.aggregate.requests } }
}

/// A series' dimensions as strings.
public struct SeriesLabels: Sendable, Hashable, Comparable {
    public var model: String
    public var modelVersion: String
    public var promptVersion: String
    public var route: String
    public var ring: DeploymentRing
    /// Sorted by key.
    public var tags: [CohortTag]

    public init(model: String, modelVersion: String = "", promptVersion: String = "", route: String = "",
                ring: DeploymentRing = .stable, tags: [CohortTag] = []) {
        self.model = model
        self.modelVersion = modelVersion
        self.promptVersion = promptVersion
        self.route = route
        self.ring = ring
        self.tags = tags.sorted { ($0.key, $0.value) < ($1.key, $1.value) }
    }

    /// The overflow series' labels (model "~overflow~").
    public static let overflow = SeriesLabels(model: "~overflow~")

    /// Model, model version, prompt version, route, ring, then the tags (key, value) in order.
    /// Field by field: comparing tuples of them copied every string twice a comparison.
    public static func < (a: Self, b: Self) -> Bool {
        withUnsafePointer(to: a) { a in withUnsafePointer(to: b) { b in precedes(a, b) } }
    }

    /// `a.pointee < b.pointee`, read in place: `<` on two labels read through an array or
    /// a pointer copied both (five strings and the tags retained and released).
    static func precedes(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>) -> Bool {
        let a = a.pointee, b = b.pointee
        if a.model != b.model { return a.model < b.model }
        if a.modelVersion != b.modelVersion { return a.modelVersion < b.modelVersion }
        if a.promptVersion != b.promptVersion { return a.promptVersion < b.promptVersion }
        if a.route != b.route { return a.route < b.route }
        if a.ring != b.ring { return a.ring.rawValue < b.ring.rawValue }
        return a.tags.lexicographicallyPrecedes(b.tags) { $0.key != $1.key ? $0.key < $1.key : $0.value < $1.value }
    }
}

/// One series of a snapshot: its labels, its aggregate, and its error classes by
/// name (the aggregate's own error-class map, keyed by collector-local symbols, is empty here).
public struct SnapshotSeries: Sendable {
    public var labels: SeriesLabels
    public var aggregate: SeriesAggregate
    public var errorClasses: [String: UInt64]

    /// Takes its parts over (`consume`): without the explicit moves the compiler copied the
    /// ~1 KB aggregate (every buffer retained, then released with the original: ~1,300
    /// instructions a series in ``Snapshot/build(_:collectorID:sequence:symbols:sketches:counters:)``).
    public init(labels: consuming SeriesLabels, aggregate: consuming SeriesAggregate,
                errorClasses: consuming [String: UInt64]) {
        aggregate.errorClasses = [:]
        self.labels = consume labels
        self.aggregate = consume aggregate
        self.errorClasses = consume errorClasses
    }

    public mutating func merge(_ other: SnapshotSeries) throws(SketchError) {
        try aggregate.merge(other.aggregate)
        for (name, count) in other.errorClasses { errorClasses[name, default: 0] &+= count }
    }
}

extension Snapshot {
    /// The snapshot of a sealed window: shard tables merged (their series are
    /// disjoint but for the overflow series), symbols resolved under one lock; the
    /// `cohortSummaries` distributions of each cohort aggregate reduced to summaries.
    public static func build(_ window: SealedWindow, collectorID: String, sequence: UInt64, symbols: SymbolTable,
                             sketches: SketchParameters, counters: [String: UInt64],
                             cohortSummaries: SummarizedDigests = []) throws(SketchError) -> Snapshot {
        var used = SymbolSet()
        for table in window.tables { table.collectSymbols(into: &used) }
        let names = symbols.strings(used)
        func name(_ symbol: UInt32) -> String { Int(symbol) < names.count ? names[Int(symbol)] : "" }
        // Series in an array, found by key through a dictionary of indices: a dictionary
        // of whole series (each ~1 KB inline) and then an array of its values held every
        // series in memory about three times while the snapshot was built. By key, not by
        // label: the symbol table maps strings to symbols one to one while a window holds its
        // lease, so two keys have the same labels only if they are equal, and a key hashes
        // as one word (labels hashed their strings: ~1,500 instructions a series).
        var series: [SnapshotSeries] = [], cohorts: [SnapshotSeries] = []
        series.reserveCapacity(window.tables.reduce(0) { $0 + $1.seriesCount })
        var indexOf: [SeriesKey: Int] = [:], cohortIndexOf: [SeriesKey: Int] = [:]
        indexOf.reserveCapacity(series.capacity)
        for table in window.tables {
            try table.forEachSeries { (key, aggregate) throws(SketchError) in
                let labels = key == .overflow ? SeriesLabels.overflow : SeriesLabels(
                    model: name(key.model), modelVersion: name(key.modelVersion), promptVersion: name(key.promptVersion),
                    route: name(key.route), ring: key.ring,
                    tags: (0..<Int(key.tagCount)).map { let (k, v) = key.tag($0); return CohortTag(name(k), name(v)) })
                var errors: [String: UInt64] = [:]
                for (symbol, count) in aggregate.errorClasses { errors[name(symbol), default: 0] &+= count }
                let next = SnapshotSeries(labels: consume labels, aggregate: consume aggregate, errorClasses: consume errors)
                if key.isCohort {  // a cohort's slice may have series in several shards
                    if let i = cohortIndexOf[key] { try cohorts[i].merge(next) } else {
                        cohortIndexOf[key] = cohorts.count
                        cohorts.append(consume next)
                    }
                } else if let i = indexOf[key] { try series[i].merge(next) } else {  // the overflow series
                    indexOf[key] = series.count
                    series.append(consume next)
                }
            }
        }
        // A slice's users may reach several shards: their summaries merge (in shard order).
        var hitters: [SliceHeavyHitters] = [], hitterIndexOf: [SeriesLabels: Int] = [:]
        for table in window.tables {
            try table.forEachHeavyHitterSlice { (key, byRequests, byCost, tenants) throws(SketchError) in
                let labels = key == .overflow ? SeriesLabels.overflow : SeriesLabels(
                    model: name(key.model), modelVersion: name(key.modelVersion), promptVersion: name(key.promptVersion),
                    route: name(key.route), ring: key.ring)
                let next = SliceHeavyHitters(labels: labels, usersByRequests: byRequests, usersByCost: byCost,
                                             tenants: try tenants.map { (t) throws(SketchError) in
                    try TenantHeavyHitters(tagKey: t.tagKey, byRequests: t.byRequests, byCost: t.byCost,
                                           naming: { name(UInt32(truncatingIfNeeded: $0)) })
                })
                if let i = hitterIndexOf[labels] { try hitters[i].merge(next) } else {
                    hitterIndexOf[labels] = hitters.count
                    hitters.append(next)
                }
            }
        }
        let summaries = cohorts.isEmpty ? [] : cohortSummaries.intersection(.valid)
        if !summaries.isEmpty {
            for i in cohorts.indices { summaries.apply(to: &cohorts[i].aggregate) }
        }
        var counters = counters
        counters["series.active"] = UInt64(series.count)
        if !cohorts.isEmpty { counters["cohorts.active"] = UInt64(cohorts.count) }
        counters["series.folded_frames", default: 0] &+= window.tables.reduce(0) { $0 + $1.foldedFrames }
        var snapshot = Snapshot(collectorID: collectorID, windowStartMicros: window.startMicros,
                                windowEndMicros: window.startMicros + window.intervalMicros, sequence: sequence,
                                sketches: sketches, series: consume series, counters: counters, cohorts: consume cohorts,
                                heavyHitters: consume hitters)
        snapshot.cohortSummaries = summaries
        return snapshot
    }

    /// Merges snapshots: of the same window from several collectors, or of
    /// consecutive windows (a rollup spanning from the earliest start to the latest
    /// end). Counters, sums, min, max and HyperLogLogs are exact; t-digests merge
    /// deterministically (pairwise in label order).
    /// HyperLogLogs of different precisions (snapshots written before and after a change
    /// of `hll_precision`) merge at the smallest, which the result's header carries.
    /// - Throws: ``SketchError/parameterMismatch(_:)`` for different t-digest parameters
    ///   or overlapping sequence ranges of one collector.
    public static func merged(_ snapshots: [Snapshot], collectorID: String) throws(SketchError) -> Snapshot {
        guard let first = snapshots.first else {
            throw .parameterMismatch("nothing to merge")
        }
        var ranges: [SequenceRange] = []
        var sketches = first.sketches
        for snapshot in snapshots {
            var digests = snapshot.sketches
            digests.hllPrecision = first.sketches.hllPrecision
            guard digests == first.sketches else { throw .parameterMismatch("snapshot t-digest parameters differ") }
            sketches.hllPrecision = Swift.min(sketches.hllPrecision, snapshot.sketches.hllPrecision)
            ranges += snapshot.sequences
        }
        ranges.sort()
        for (a, b) in zip(ranges, ranges.dropFirst()) where a.collectorID == b.collectorID && b.first <= a.last {
            throw .parameterMismatch("collector \(a.collectorID) sequences \(a.first)…\(a.last) and \(b.first)…\(b.last) overlap")
        }
        // Merge in a fixed order (by window, then collector) so the result is deterministic.
        let ordered = snapshots.sorted {
            ($0.windowStartMicros, $0.sequences.first?.collectorID ?? "", $0.sequences.first?.first ?? 0)
                < ($1.windowStartMicros, $1.sequences.first?.collectorID ?? "", $1.sequences.first?.first ?? 0)
        }
        var bySeries: [SeriesLabels: SnapshotSeries] = [:], byCohort: [SeriesLabels: SnapshotSeries] = [:]
        var bySlice: [SeriesLabels: SliceHeavyHitters] = [:]
        var counters: [String: UInt64] = [:]
        for snapshot in ordered {
            for series in snapshot.series {
                if bySeries[series.labels] == nil { bySeries[series.labels] = series } else { try bySeries[series.labels]!.merge(series) }
            }
            for cohort in snapshot.cohorts {
                if byCohort[cohort.labels] == nil { byCohort[cohort.labels] = cohort } else { try byCohort[cohort.labels]!.merge(cohort) }
            }
            for slice in snapshot.heavyHitters {
                if bySlice[slice.labels] == nil { bySlice[slice.labels] = slice } else { try bySlice[slice.labels]!.merge(slice) }
            }
            for (name, value) in snapshot.counters where name != "series.active" && name != "cohorts.active" {
                counters[name, default: 0] &+= value
            }
        }
        counters["series.active"] = UInt64(bySeries.count)
        if !byCohort.isEmpty { counters["cohorts.active"] = UInt64(byCohort.count) }
        var series = Array(bySeries.values), cohorts = Array(byCohort.values)
        if snapshots.contains(where: { $0.sketches.hllPrecision != sketches.hllPrecision }) {
            for i in series.indices {
                series[i].aggregate.users = series[i].aggregate.users.reduced(toPrecision: sketches.hllPrecision)
                series[i].aggregate.sessions = series[i].aggregate.sessions.reduced(toPrecision: sketches.hllPrecision)
            }
            for i in cohorts.indices {
                cohorts[i].aggregate.users = cohorts[i].aggregate.users.reduced(toPrecision: sketches.hllPrecision)
                cohorts[i].aggregate.sessions = cohorts[i].aggregate.sessions.reduced(toPrecision: sketches.hllPrecision)
            }
        }
        var result = Snapshot(collectorID: collectorID, windowStartMicros: snapshots.map(\.windowStartMicros).min()!,
                              windowEndMicros: snapshots.map(\.windowEndMicros).max()!, sequence: 0,
                              sketches: sketches, series: series, counters: counters, cohorts: cohorts,
                              heavyHitters: Array(bySlice.values))
        result.sequences = ranges
        // A distribution that is a summary in any input is one in the merge (a summary
        // merged with a full digest answers no quantile either).
        if !result.cohorts.isEmpty {
            result.cohortSummaries = snapshots.reduce(into: SummarizedDigests()) { $0.formUnion($1.cohortSummaries) }
            if !result.cohortSummaries.isEmpty {
                for i in result.cohorts.indices { result.cohortSummaries.apply(to: &result.cohorts[i].aggregate) }
            }
        }
        return result
    }
}
