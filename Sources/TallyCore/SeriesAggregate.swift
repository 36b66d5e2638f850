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
    /// By ``RequestStatus`` raw value (inline: no allocation per series).
    @usableFromInline var statusStore = InlineArray<6, UInt64>(repeating: 0)
    /// By error-class symbol (``SymbolTable``).
    public var errorClasses: [UInt32: UInt64] = [:]
    public var refusals: UInt64 = 0
    public var escalations: UInt64 = 0
    public var fallbacks: UInt64 = 0
    /// By ``TaskOutcome`` raw value: unknown, success, failure.
    @usableFromInline var taskStore = InlineArray<3, UInt64>(repeating: 0)
    public var feedbackUp: UInt64 = 0
    public var feedbackDown: UInt64 = 0
    /// By ``SafetySeverity`` raw value (index 0, none, stays 0).
    @usableFromInline var severityStore = InlineArray<5, UInt64>(repeating: 0)
    /// By kind bit 0 … 15; empty (no allocation) until the first incident.
    @usableFromInline var kindStore: [UInt64] = []
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
    public var categories: [UInt16: UInt64] {
        get { Dictionary(uniqueKeysWithValues: categoryEntries.map { ($0.id, $0.count) }) }
        set { categoryEntries = newValue.keys.sorted().map { CategoryCount(id: $0, count: newValue[$0]!) } }
    }
    /// Requests with status raw value `raw` (0 … 5), without building ``statusCounts``.
    @inlinable public func statusCount(_ raw: Int) -> UInt64 { statusStore[raw] }
    /// Requests with task outcome raw value `raw` (0 … 2).
    @inlinable public func taskOutcomeCount(_ raw: Int) -> UInt64 { taskStore[raw] }
    /// Requests with a safety incident of severity raw value `raw` (1 … 4).
    @inlinable public func safetyCount(_ raw: Int) -> UInt64 { severityStore[raw] }
    /// Requests with safety kind `bit` (0 … 15), read in place (``safetyByKind`` builds an array).
    @inlinable public func safetyKindCount(_ bit: Int) -> UInt64 { kindStore.isEmpty ? 0 : kindStore[bit] }

    /// Calls `body` with each category and its count, in id order (no dictionary built).
    @inlinable
    public func forEachCategory(_ body: (UInt16, UInt64) -> Void) {
        for entry in categoryEntries { body(entry.id, entry.count) }
    }

    /// Distinct categories held (at most ``maxCategories``).
    @inlinable public var categoryEntryCount: Int { categoryEntries.count }

    /// The `index`th category (in id order) and its count, read without a closure (a
    /// closure over an aggregate read in place makes the compiler copy the aggregate).
    /// - Precondition: `0 <= index < categoryEntryCount`.
    @inlinable public func categoryEntry(at index: Int) -> (id: UInt16, count: UInt64) {
        (categoryEntries[index].id, categoryEntries[index].count)
    }

    /// The histogram's storage: a short list sorted by id and searched by bisection
    /// (≤ 6 steps for ``maxCategories`` entries; the linear scan it replaced cost
    /// about 170 instructions a frame with 32 categories). One array of pairs, not an
    /// array of ids beside one of counts: a series' first category costs one allocation
    /// and one free, not two (~480 instructions).
    @usableFromInline var categoryEntries: [CategoryCount] = []

    /// One category's id and its count of requests.
    @usableFromInline
    struct CategoryCount: Sendable {
        @usableFromInline var id: UInt16
        @usableFromInline var count: UInt64
        @usableFromInline init(id: UInt16, count: UInt64) {
            self.id = id
            self.count = count
        }
    }
    public var otherCategories: UInt64 = 0
    public static let maxCategories = 64
    /// Categories the histogram makes room for when it gets its first.
    @inlinable static var initialCategoryCapacity: Int { 4 }

    /// Requests by ``RequestStatus`` raw value.
    public var statusCounts: [UInt64] {
        get { (0..<6).map { statusStore[$0] } }
        set { for i in 0..<6 { statusStore[i] = newValue[i] } }
    }
    /// Requests by ``TaskOutcome`` raw value: unknown, success, failure.
    public var taskOutcomes: [UInt64] {
        get { (0..<3).map { taskStore[$0] } }
        set { for i in 0..<3 { taskStore[i] = newValue[i] } }
    }
    /// Requests with a safety incident, by severity raw value (index 0 unused: none).
    public var safetyBySeverity: [UInt64] {
        get { (0..<5).map { severityStore[$0] } }
        set { for i in 0..<5 { severityStore[i] = newValue[i] } }
    }
    /// Requests flagged with each kind, by bit position 0 … 15.
    public var safetyByKind: [UInt64] {
        get { kindStore.isEmpty ? [UInt64](repeating: 0, count: 16) : kindStore }
        set { kindStore = newValue.allSatisfy { $0 == 0 } ? [] : newValue }
    }

    @inline(__always)
    public init(sketches: SketchParameters = SketchParameters()) {
        func digest() -> TDigest {
            TDigest(compression: sketches.compression, scale: sketches.scale, bufferCapacity: sketches.digestBuffer)
        }
        queueTime = digest(); timeToFirstToken = digest(); totalLatency = digest(); timePerOutputToken = digest()
        inputTokens = digest(); outputTokens = digest(); cost = digest()
        users = HyperLogLog(precision: sketches.hllPrecision)
        sessions = HyperLogLog(precision: sketches.hllPrecision)
    }

    /// Sizes an empty aggregate's storage for the requests `first` and `rest` before they are added
    /// (``add(_:)`` or, for a cohort, ``addCohort(_:)``): each digest's buffer for the values
    /// it will take and each distinct-count set for up to one key a request, in one
    /// allocation each, where adding them one by one grows each a few times (a series
    /// built when its window seals; Benchmarks/README.md, "The seal's build sized to its
    /// frames"). Changes no count.
    public mutating func reserve(for first: FrameValues, _ rest: UnsafeBufferPointer<FrameValues>, cohort: Bool) {
        // Up to four values a digest keeps inline and an exact set fits in its first 8 slots.
        guard rest.count >= TDigest.smallCapacity else { return }
        var ttft = 0, tpot = 0, priced = 0
        func count(_ v: FrameValues) {
            if v.timeToFirstTokenMicros != WireLimits.absent32 { ttft &+= 1 }
            if !cohort && v.timePerOutputTokenMicros != nil { tpot &+= 1 }
            if !v.cost.isNaN { priced &+= 1 }
        }
        count(first)
        for v in rest { count(v) }
        let n = 1 + rest.count
        queueTime.reserveValues(n); totalLatency.reserveValues(n)
        inputTokens.reserveValues(n); outputTokens.reserveValues(n)
        timeToFirstToken.reserveValues(ttft); timePerOutputToken.reserveValues(tpot); cost.reserveValues(priced)
        users.reserveExact(n)
        if !cohort { sessions.reserveExact(n) }
    }

    /// Folds one request in.
    public mutating func add(_ r: FrameRecord) { add(r.values) }

    /// Folds one request's measurements in.
    public mutating func add(_ r: FrameValues) {
        addCounting(r)
        queueTime.insert(integer: r.queueTimeMicros)
        if r.timeToFirstTokenMicros != WireLimits.absent32 { timeToFirstToken.insert(integer: r.timeToFirstTokenMicros) }
        totalLatency.insert(integer: r.totalLatencyMicros)
        if let tpot = r.timePerOutputTokenMicros { timePerOutputToken.insert(tpot) }
        inputTokens.insert(integer: r.inputTokens)
        outputTokens.insert(integer: r.outputTokens)
        if !r.cost.isNaN { cost.insert(r.cost) }
    }

    /// Folds one request into a cohort aggregate (SNAPSHOT.md, "Cohort aggregates"): all but
    /// the time per output token and the sessions, which stay empty.
    public mutating func addCohort(_ r: FrameValues) {
        var values = r
        values.sessionHash = 0
        addCounting(values)
        queueTime.insert(integer: r.queueTimeMicros)
        if r.timeToFirstTokenMicros != WireLimits.absent32 { timeToFirstToken.insert(integer: r.timeToFirstTokenMicros) }
        totalLatency.insert(integer: r.totalLatencyMicros)
        inputTokens.insert(integer: r.inputTokens)
        outputTokens.insert(integer: r.outputTokens)
        if !r.cost.isNaN { cost.insert(r.cost) }
    }

    /// Folds in everything of one request but the seven value distributions (counters,
    /// distinct users and sessions, categories): what ``LiveSeriesAggregate`` keeps here
    /// while its distributions go through a cheaper front end.
    /// `categories` false leaves the category to the caller (``LiveSeriesAggregate`` finds
    /// it through a cache first).
    public mutating func addCounting(_ r: FrameValues, categories: Bool = true) {
        addCountingInline(r, categories: categories)
    }

    /// ``addCounting(_:categories:)`` inlined into its caller: a busy series' fold
    /// (``LiveSeriesAggregate/add(_:)``) then reads the request where it is, where the call
    /// took a copy of it on the stack.
    @inline(__always)
    mutating func addCountingInline(_ r: FrameValues, categories: Bool) {
        requests &+= 1
        statusStore[Int(r.status.rawValue)] &+= 1
        if r.errorClass != SymbolTable.none { countError(r.errorClass) }
        let outcome = r.outcome
        if outcome.refusal { refusals &+= 1 }
        if outcome.escalation { escalations &+= 1 }
        if outcome.fallback { fallbacks &+= 1 }
        taskStore[Int((outcome.task ?? .unknown).rawValue)] &+= 1
        switch outcome.feedback {
        case .up: feedbackUp &+= 1
        case .down: feedbackDown &+= 1
        default: break
        }
        if r.safetySeverity != .none {
            severityStore[Int(r.safetySeverity.rawValue)] &+= 1
            var kinds = r.safetyKinds.rawValue
            if kinds != 0 && kindStore.isEmpty { kindStore = [UInt64](repeating: 0, count: 16) }
            while kinds != 0 {
                kindStore[kinds.trailingZeroBitCount] &+= 1
                kinds &= kinds &- 1
            }
        }
        cachedInputTokens &+= UInt64(r.cachedInputTokens)
        if r.cost.isNaN { unpriced &+= 1 }
        if r.userHash != 0 { users.insert(r.userHash) }
        if r.sessionHash != 0 { sessions.insert(r.sessionHash) }
        if categories && r.categoryID != WireLimits.noCategory { addCategory(r.categoryID, count: 1) }
    }

    /// Counts one request of error class `symbol`. Out of line: the dictionary's defaulted
    /// subscript left its closure to be released on every request, errors or not (~9
    /// instructions a frame in `aggregate-100`, Benchmarks/README.md).
    @inline(never)
    mutating func countError(_ symbol: UInt32) {
        errorClasses[symbol, default: 0] &+= 1
    }

    /// Counts `count` requests of `category`, or in ``otherCategories`` once the
    /// histogram holds ``maxCategories`` others. Returns the category's position in
    /// ``categoryEntries`` (nil: counted in ``otherCategories``).
    @inlinable @discardableResult
    mutating func addCategory(_ category: UInt16, count: UInt64) -> Int? {
        var low = 0, high = categoryEntries.count
        categoryEntries.withUnsafeBufferPointer { entries in
            while low < high {
                let middle = (low &+ high) >> 1
                if entries[middle].id < category { low = middle &+ 1 } else { high = middle }
            }
        }
        if low < categoryEntries.count && categoryEntries[low].id == category {
            categoryEntries[low].count &+= count
        } else if categoryEntries.count < SeriesAggregate.maxCategories {
            if categoryEntries.isEmpty {
                // Room for a few at once: grown one by one, the array was allocated three
                // times (capacity 1, 2, 4) by a series' first four categories.
                categoryEntries.reserveCapacity(SeriesAggregate.initialCategoryCapacity)
            }
            categoryEntries.insert(CategoryCount(id: category, count: count), at: low)
        } else {
            otherCategories &+= count
            return nil
        }
        return low
    }

    /// Adds `other` (another collector's or another window's aggregate of the
    /// same series): counters add exactly, digests merge deterministically,
    /// HyperLogLogs take their union.
    /// - Throws: ``SketchError/parameterMismatch(_:)`` when sketch parameters differ.
    public mutating func merge(_ other: SeriesAggregate) throws(SketchError) {
        requests &+= other.requests
        for i in 0..<6 { statusStore[i] &+= other.statusStore[i] }
        for (symbol, count) in other.errorClasses { errorClasses[symbol, default: 0] &+= count }
        refusals &+= other.refusals
        escalations &+= other.escalations
        fallbacks &+= other.fallbacks
        for i in 0..<3 { taskStore[i] &+= other.taskStore[i] }
        feedbackUp &+= other.feedbackUp
        feedbackDown &+= other.feedbackDown
        for i in 0..<5 { severityStore[i] &+= other.severityStore[i] }
        if !other.kindStore.isEmpty {
            if kindStore.isEmpty { kindStore = [UInt64](repeating: 0, count: 16) }
            for i in 0..<16 { kindStore[i] &+= other.kindStore[i] }
        }
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
        for entry in other.categoryEntries { addCategory(entry.id, count: entry.count) }
        otherCategories &+= other.otherCategories
    }

    /// Requests with any safety incident.
    public var safetyIncidents: UInt64 { (1..<5).reduce(0) { $0 + severityStore[$1] } }
    /// Share of requests that did not end `ok` (0 when empty).
    public var errorRate: Double {
        requests == 0 ? 0 : Double(requests - statusStore[Int(RequestStatus.ok.rawValue)]) / Double(requests)
    }
}

/// The sketch parameters of every aggregate of an engine; snapshots carry them,
/// and aggregates with different parameters do not merge.
///
/// The per-series defaults trade a little accuracy for memory and snapshot size
/// (Benchmarks/README.md, "Aggregation core"): a busy series holds 7 digests and
/// 2 HyperLogLogs, so the standalone sketch defaults (δ = 230, 1,150-value buffer,
/// p = 14) cost ~360 KB a busy series and ~10 KB a snapshot series (measured in
/// issue 4's first round). δ = 100 with these buffers keeps rank error ≤ 140 ppm at
/// q = .99 and value error ≤ 0.8 % (`tally-sketch accuracy --compression 100
/// --buffer 248`, Benchmarks/README.md). Distinct users and sessions use p = 14, the
/// standalone default: exact up to 1,024 values, then RMSE ≤ 0.65 % for one series
/// (martingale) and ≈ 0.80 % for a union of series such as a deployment slice or a scope
/// (Ertl), as measured by `tally-sketch accuracy` (Benchmarks/README.md).
public struct SketchParameters: Sendable, Hashable {
    /// t-digest δ: at most ~118 centroids (8 bytes each in memory).
    public var compression = 100
    /// k2t with every centroid within 0.8 % of its values' magnitude (``TDigestScale/k2tRelative``):
    /// per-series quantiles within ~1 % at every q (issue 16; Benchmarks/README.md, "Core v2:
    /// the bucketed front end"). Digests written with k2t before still merge with these.
    public var scale = TDigestScale.k2tRelative
    /// Values a digest buffers between merges (4 bytes each in memory). 248 makes the
    /// buffer with its 32-byte array header exactly 1 KiB, an allocator size class. Smaller
    /// buffers merge more often: 64 cost ~4,400 instructions a frame, 256 ~2,460.
    public var digestBuffer = 248
    /// HyperLogLog p for users and sessions, 4 … 18: exact up to 2^p/16 values (4–8
    /// bytes each in memory), then 2^p six-bit registers (12 KiB at p = 14). Before
    /// December 2026 it was 12 (exact to 256, RMSE ≈ 1.6 %); `hll_precision = 12` in the
    /// configuration keeps a PostgreSQL schema created then.
    public var hllPrecision = 14
    public init() {}
}
