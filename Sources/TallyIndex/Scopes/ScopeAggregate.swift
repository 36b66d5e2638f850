import TallyCore
import TallySketches
import TallyWire

/// What the index keeps of a scope for one window or span: the counters of
/// ``SeriesAggregate`` added exactly, the distributions the KPIs and drift read
/// (total latency, TTFT, queue time, time per output token, input and output tokens,
/// cost) merged as t-digests, distinct users as a HyperLogLog union, and the
/// category histogram. Session sketches and error classes are left out (no KPI reads them).
///
/// Built with ``merged(_:)`` over many parts at once: one sort per digest per scope,
/// not one per pair (pairwise merging of n series would sort n times).
public struct ScopeAggregate: Sendable {
    public var requests: UInt64 = 0
    /// By ``RequestStatus`` raw value (6 entries).
    public var statusCounts = [UInt64](repeating: 0, count: 6)
    public var refusals: UInt64 = 0
    public var escalations: UInt64 = 0
    public var fallbacks: UInt64 = 0
    /// By ``TaskOutcome`` raw value: unknown, success, failure.
    public var taskOutcomes = [UInt64](repeating: 0, count: 3)
    public var feedbackUp: UInt64 = 0
    public var feedbackDown: UInt64 = 0
    /// By ``SafetySeverity`` raw value (index 0, none, stays 0).
    public var safetyBySeverity = [UInt64](repeating: 0, count: 5)
    /// Requests without a price (they add nothing to ``cost``).
    public var unpriced: UInt64 = 0

    /// Microseconds.
    public var totalLatency: TDigest
    public var timeToFirstToken: TDigest
    public var queueTime: TDigest
    /// Microseconds per output token.
    public var timePerOutputToken: TDigest
    public var inputTokens: TDigest
    public var outputTokens: TDigest
    /// US dollars per priced request.
    public var cost: TDigest
    public var users: HyperLogLog
    /// Requests by input category id; ``otherCategories`` past the series' cap.
    public var categories: [UInt16: UInt64] = [:]
    public var otherCategories: UInt64 = 0

    public init(sketches: SketchParameters) {
        func digest() -> TDigest {
            TDigest(compression: sketches.compression, scale: sketches.scale, bufferCapacity: sketches.digestBuffer)
        }
        totalLatency = digest(); timeToFirstToken = digest(); queueTime = digest(); timePerOutputToken = digest()
        inputTokens = digest(); outputTokens = digest(); cost = digest()
        users = HyperLogLog(precision: sketches.hllPrecision)
    }

    /// One series' aggregate as a scope part.
    init(_ a: SeriesAggregate) {
        requests = a.requests
        statusCounts = a.statusCounts
        refusals = a.refusals
        escalations = a.escalations
        fallbacks = a.fallbacks
        taskOutcomes = a.taskOutcomes
        feedbackUp = a.feedbackUp
        feedbackDown = a.feedbackDown
        safetyBySeverity = a.safetyBySeverity
        unpriced = a.unpriced
        totalLatency = a.totalLatency
        timeToFirstToken = a.timeToFirstToken
        queueTime = a.queueTime
        timePerOutputToken = a.timePerOutputToken
        inputTokens = a.inputTokens
        outputTokens = a.outputTokens
        cost = a.cost
        users = a.users
        categories = a.categories
        otherCategories = a.otherCategories
    }

    /// The roll-up of the series at `members` of `series`: counters summed, each digest
    /// merged once over all of them (one sort), users as one HyperLogLog union.
    ///
    /// The series are read in place through the buffer's pointer: reading them through
    /// the array (or passing an aggregate to a function) copied each whole aggregate,
    /// ~20 retains, which was the largest cost of rolling 10,000 series up.
    /// - Throws: ``SketchError/parameterMismatch(_:)`` when sketch parameters differ.
    /// - Precondition: `members` is not empty and every index is valid.
    /// - Parameters:
    ///   - digests: the distributions merged; the others stay empty (with `sketches`' parameters).
    ///   - counters: whether the counters are summed (zero otherwise: a roll-up made only for
    ///     some digests, joined to one with the counters by ``adopt(_:from:counters:)``).
    ///   - categories: whether the category histogram is summed, with the counters (empty otherwise; only drift
    ///     reads it). It is read by index (``SeriesAggregate/categoryEntry(at:)``): read through a
    ///     closure it made the compiler copy the series' whole aggregate (~20 retains).
    public init(rollingUp members: [Int], of series: [SnapshotSeries], digests: DigestSet = .all,
                sketches: SketchParameters = SketchParameters(), counters: Bool = true,
                categories withCategories: Bool = true) throws(SketchError) {
        precondition(!members.isEmpty, "rolling up no series")
        let sumsCategories = withCategories && counters
        var status = [UInt64](repeating: 0, count: 6), task = [UInt64](repeating: 0, count: 3)
        var severity = [UInt64](repeating: 0, count: 5)
        var categories: [UInt16: UInt64] = [:]
        var requests: UInt64 = 0, refusals: UInt64 = 0, escalations: UInt64 = 0, fallbacks: UInt64 = 0
        var feedbackUp: UInt64 = 0, feedbackDown: UInt64 = 0, unpriced: UInt64 = 0, otherCategories: UInt64 = 0
        var userSketches: [HyperLogLog] = []
        userSketches.reserveCapacity(digests.contains(.users) ? members.count : 0)
        if members.count == 1 {  // the series' own sketches, not re-merged
            self = ScopeAggregate(sketches: sketches)
            adopt(digests, from: ScopeAggregate(series[members[0]].aggregate), counters: counters)
            if !sumsCategories {
                self.categories = [:]
                self.otherCategories = 0
            }
            return
        }
        // Each digest is merged by a builder fed in place (copying the digests into arrays
        // retained two arrays per digest, a fifth of the roll-up's time at 10,000 series).
        // The merged digests in DigestSet order (nil where not asked for).
        let mergedDigests = try series.withUnsafeBufferPointer { (buffer) throws(SketchError) -> [TDigest?] in
            let base = buffer.baseAddress!
            let first = base + members[0]
            var latency = TDigest.Merge(like: first.pointee.aggregate.totalLatency)
            var ttft = TDigest.Merge(like: first.pointee.aggregate.timeToFirstToken)
            var queue = TDigest.Merge(like: first.pointee.aggregate.queueTime)
            var tpot = TDigest.Merge(like: first.pointee.aggregate.timePerOutputToken)
            var input = TDigest.Merge(like: first.pointee.aggregate.inputTokens)
            var output = TDigest.Merge(like: first.pointee.aggregate.outputTokens)
            var costs = TDigest.Merge(like: first.pointee.aggregate.cost)
            for i in members {
                let p = base + i
                if counters {
                    requests &+= p.pointee.aggregate.requests
                    for k in 0..<6 { status[k] &+= p.pointee.aggregate.statusCount(k) }
                    for k in 0..<3 { task[k] &+= p.pointee.aggregate.taskOutcomeCount(k) }
                    for k in 1..<5 { severity[k] &+= p.pointee.aggregate.safetyCount(k) }
                    refusals &+= p.pointee.aggregate.refusals
                    escalations &+= p.pointee.aggregate.escalations
                    fallbacks &+= p.pointee.aggregate.fallbacks
                    feedbackUp &+= p.pointee.aggregate.feedbackUp
                    feedbackDown &+= p.pointee.aggregate.feedbackDown
                    unpriced &+= p.pointee.aggregate.unpriced
                }
                if sumsCategories {
                    otherCategories &+= p.pointee.aggregate.otherCategories
                    for k in 0..<p.pointee.aggregate.categoryEntryCount {
                        let entry = p.pointee.aggregate.categoryEntry(at: k)
                        categories[entry.id, default: 0] &+= entry.count
                    }
                }
                if digests.contains(.totalLatency) { try latency.add(p.pointee.aggregate.totalLatency) }
                if digests.contains(.timeToFirstToken) { try ttft.add(p.pointee.aggregate.timeToFirstToken) }
                if digests.contains(.queueTime) { try queue.add(p.pointee.aggregate.queueTime) }
                if digests.contains(.timePerOutputToken) { try tpot.add(p.pointee.aggregate.timePerOutputToken) }
                if digests.contains(.inputTokens) { try input.add(p.pointee.aggregate.inputTokens) }
                if digests.contains(.outputTokens) { try output.add(p.pointee.aggregate.outputTokens) }
                if digests.contains(.cost) { try costs.add(p.pointee.aggregate.cost) }
                if digests.contains(.users) { userSketches.append(p.pointee.aggregate.users) }
            }
            return [digests.contains(.totalLatency) ? latency.result() : nil,
                    digests.contains(.timeToFirstToken) ? ttft.result() : nil,
                    digests.contains(.queueTime) ? queue.result() : nil,
                    digests.contains(.timePerOutputToken) ? tpot.result() : nil,
                    digests.contains(.inputTokens) ? input.result() : nil,
                    digests.contains(.outputTokens) ? output.result() : nil,
                    digests.contains(.cost) ? costs.result() : nil]
        }
        self.requests = requests
        self.refusals = refusals
        self.escalations = escalations
        self.fallbacks = fallbacks
        self.feedbackUp = feedbackUp
        self.feedbackDown = feedbackDown
        self.unpriced = unpriced
        self.otherCategories = otherCategories
        statusCounts = status
        taskOutcomes = task
        safetyBySeverity = severity
        self.categories = categories
        // An empty list merges into an empty digest of the series' parameters.
        let empty = ScopeAggregate(sketches: sketches)
        totalLatency = mergedDigests[0] ?? empty.totalLatency
        timeToFirstToken = mergedDigests[1] ?? empty.timeToFirstToken
        queueTime = mergedDigests[2] ?? empty.queueTime
        timePerOutputToken = mergedDigests[3] ?? empty.timePerOutputToken
        inputTokens = mergedDigests[4] ?? empty.inputTokens
        outputTokens = mergedDigests[5] ?? empty.outputTokens
        cost = mergedDigests[6] ?? empty.cost
        users = userSketches.isEmpty ? empty.users : try HyperLogLog.union(userSketches)
    }

    /// Takes `digests` (and, with `counters`, every counter) from `other`: joins roll-ups of
    /// the same series made for different sketches.
    public mutating func adopt(_ digests: DigestSet, from other: ScopeAggregate, counters: Bool = false) {
        if digests.contains(.totalLatency) { totalLatency = other.totalLatency }
        if digests.contains(.timeToFirstToken) { timeToFirstToken = other.timeToFirstToken }
        if digests.contains(.queueTime) { queueTime = other.queueTime }
        if digests.contains(.timePerOutputToken) { timePerOutputToken = other.timePerOutputToken }
        if digests.contains(.inputTokens) { inputTokens = other.inputTokens }
        if digests.contains(.outputTokens) { outputTokens = other.outputTokens }
        if digests.contains(.cost) { cost = other.cost }
        if digests.contains(.users) { users = other.users }
        guard counters else { return }
        requests = other.requests
        statusCounts = other.statusCounts
        refusals = other.refusals
        escalations = other.escalations
        fallbacks = other.fallbacks
        taskOutcomes = other.taskOutcomes
        feedbackUp = other.feedbackUp
        feedbackDown = other.feedbackDown
        safetyBySeverity = other.safetyBySeverity
        unpriced = other.unpriced
        categories = other.categories
        otherCategories = other.otherCategories
    }

    /// The merge of `parts` (counters exact, digests deterministic, HyperLogLog union).
    /// - Throws: ``SketchError/parameterMismatch(_:)`` when sketch parameters differ.
    /// - Precondition: `parts` is not empty.
    public static func merged(_ parts: [ScopeAggregate]) throws(SketchError) -> ScopeAggregate {
        precondition(!parts.isEmpty, "merging no parts")
        if parts.count == 1 { return parts[0] }
        var result = parts[0]
        for part in parts.dropFirst() {
            result.requests &+= part.requests
            for i in 0..<6 { result.statusCounts[i] &+= part.statusCounts[i] }
            result.refusals &+= part.refusals
            result.escalations &+= part.escalations
            result.fallbacks &+= part.fallbacks
            for i in 0..<3 { result.taskOutcomes[i] &+= part.taskOutcomes[i] }
            result.feedbackUp &+= part.feedbackUp
            result.feedbackDown &+= part.feedbackDown
            for i in 0..<5 { result.safetyBySeverity[i] &+= part.safetyBySeverity[i] }
            result.unpriced &+= part.unpriced
            for (category, count) in part.categories { result.categories[category, default: 0] &+= count }
            result.otherCategories &+= part.otherCategories
        }
        result.totalLatency = try TDigest.merged(parts.map(\.totalLatency))
        result.timeToFirstToken = try TDigest.merged(parts.map(\.timeToFirstToken))
        result.queueTime = try TDigest.merged(parts.map(\.queueTime))
        result.timePerOutputToken = try TDigest.merged(parts.map(\.timePerOutputToken))
        result.inputTokens = try TDigest.merged(parts.map(\.inputTokens))
        result.outputTokens = try TDigest.merged(parts.map(\.outputTokens))
        result.cost = try TDigest.merged(parts.map(\.cost))
        result.users = try HyperLogLog.union(parts.map(\.users))
        return result
    }

    /// Requests that did not end `ok`.
    public var failed: UInt64 { requests - statusCounts[Int(RequestStatus.ok.rawValue)] }
    /// Requests with any safety incident.
    public var safetyIncidents: UInt64 { safetyBySeverity[1...].reduce(0, +) }
    public func status(_ status: RequestStatus) -> UInt64 { statusCounts[Int(status.rawValue)] }
}
