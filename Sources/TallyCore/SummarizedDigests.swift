import TallySketches

/// Which value distributions of a snapshot's cohort aggregates are **summaries**: exact
/// count, min, max and sum (so exact means and token sums) in one centroid instead of a
/// full t-digest (``TDigest/summarized()``). Bits in the series record's digest order
/// (SNAPSHOT.md, "Cohort aggregates", `cohort_summaries`); time per output token is never
/// kept for cohorts and so never a summary.
///
/// tallyd summarizes what its `cohort_distributions` setting leaves out (by default queue
/// time and the two token counts: fairness and cohort slicing read latency, TTFT and
/// cost's spread, and token sums). A full digest of a cohort holds about one centroid
/// per value at 5-s windows (a median 48 bytes in the demo); a summary 7–13 bytes
/// whatever the values, written lean in version 2 (Benchmarks/README.md, "Cohort
/// summaries", "Lean summaries").
public struct SummarizedDigests: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let queueTime = SummarizedDigests(rawValue: 1 << 0)
    public static let timeToFirstToken = SummarizedDigests(rawValue: 1 << 1)
    public static let totalLatency = SummarizedDigests(rawValue: 1 << 2)
    public static let inputTokens = SummarizedDigests(rawValue: 1 << 4)
    public static let outputTokens = SummarizedDigests(rawValue: 1 << 5)
    public static let cost = SummarizedDigests(rawValue: 1 << 6)

    /// What tallyd summarizes by default (its `cohort_distributions` keeps latency, TTFT and cost).
    public static let cohortDefault: SummarizedDigests = [.queueTime, .inputTokens, .outputTokens]

    /// The bits a snapshot may carry (bit 3, time per output token, and bit 7 are not).
    public static let valid: SummarizedDigests = [.queueTime, .timeToFirstToken, .totalLatency, .inputTokens,
                                                  .outputTokens, .cost]

    /// The distributions by their configuration names (tallyd's `cohort_distributions`),
    /// the JSON line's field names without their unit.
    public static let names: [(name: String, digest: SummarizedDigests)] = [
        ("queue", .queueTime), ("ttft", .timeToFirstToken), ("latency", .totalLatency),
        ("input_tokens", .inputTokens), ("output_tokens", .outputTokens), ("cost", .cost),
    ]

    /// The summaries that keeping only `kept` (configuration names) leaves; nil naming the
    /// first unknown name.
    public static func leaving(_ kept: [String]) -> Result<SummarizedDigests, UnknownName> {
        var summarized = SummarizedDigests.valid
        for name in kept {
            guard let entry = names.first(where: { $0.name == name }) else { return .failure(UnknownName(name: name)) }
            summarized.remove(entry.digest)
        }
        return .success(summarized)
    }

    /// A distribution name that is none of ``names``.
    public struct UnknownName: Error, Sendable, Equatable {
        public let name: String
    }

    /// Replaces each digest of `aggregate` in this set by its summary.
    public func apply(to aggregate: inout SeriesAggregate) {
        if contains(.queueTime) { aggregate.queueTime = aggregate.queueTime.summarized() }
        if contains(.timeToFirstToken) { aggregate.timeToFirstToken = aggregate.timeToFirstToken.summarized() }
        if contains(.totalLatency) { aggregate.totalLatency = aggregate.totalLatency.summarized() }
        if contains(.inputTokens) { aggregate.inputTokens = aggregate.inputTokens.summarized() }
        if contains(.outputTokens) { aggregate.outputTokens = aggregate.outputTokens.summarized() }
        if contains(.cost) { aggregate.cost = aggregate.cost.summarized() }
    }
}
