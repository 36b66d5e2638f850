/// What each cohort tag key of a frame does (issue 16, "Cardinality, cohorts"):
///
/// - a **series dimension** is part of the series key, as every tag was before December
///   2026: the series count is the *product* of the dimensions' cardinalities;
/// - a **breakdown key** gives each deployment slice (model, version, prompt version, route,
///   ring) one *cohort aggregate* per value of that key, beside its series: the count is the
///   *sum* of the keys' cardinalities (SNAPSHOT.md, "Cohort aggregates");
/// - any other tag is dropped and counted (`tags.dropped`), unless it is the
///   **heavy-hitter key** (``heavyHitterKey``, e.g. `tenant`): its value is not a series or
///   cohort label but names the tenants of the slice's heavy-hitter summaries (SNAPSHOT.md,
///   "Heavy hitters"). The heavy-hitter key may also be a dimension or a breakdown key.
///
/// With neither list configured (``isLegacy``), every tag is a series dimension, so a
/// configuration written before cohort aggregates keeps its series.
public struct TagPolicy: Sendable, Equatable {
    /// Tag keys that stay in the series key (nil: none, unless ``breakdownKeys`` is empty too).
    public var seriesKeys: [String]?
    /// Tag keys that make cohort aggregates, at most ``maxBreakdownKeys``.
    public var breakdownKeys: [String]
    /// The tag key whose values the heavy-hitter summaries rank by requests and by cost
    /// (tallyd's `heavy_hitter_tag`); nil: users only. Read only when heavy hitters are kept.
    public var heavyHitterKey: String?

    /// A frame carries at most 8 tags (FORMAT.md); a breakdown key costs a cohort update per
    /// frame that carries it (~300–500 instructions), so four is the bound.
    public static let maxBreakdownKeys = 4

    public init(seriesKeys: [String]? = nil, breakdownKeys: [String] = [], heavyHitterKey: String? = nil) {
        self.seriesKeys = seriesKeys
        self.breakdownKeys = breakdownKeys
        self.heavyHitterKey = heavyHitterKey
    }

    /// Every tag a series dimension (the default).
    public static let legacy = TagPolicy()

    public var isLegacy: Bool { seriesKeys == nil && breakdownKeys.isEmpty }

    public enum Role: Sendable, Equatable {
        case dimension
        case breakdown
        case dropped
    }

    /// The role of tag key `key`.
    public func role(of key: String) -> Role {
        if isLegacy { return .dimension }
        if breakdownKeys.contains(key) { return .breakdown }
        if seriesKeys?.contains(key) == true { return .dimension }
        return .dropped
    }

    /// Why a policy is refused: a key in both lists, an empty key, or too many breakdown keys.
    public func validationError() -> String? {
        if breakdownKeys.count > TagPolicy.maxBreakdownKeys {
            return "\(breakdownKeys.count) breakdown keys, at most \(TagPolicy.maxBreakdownKeys)"
        }
        if let both = breakdownKeys.first(where: { seriesKeys?.contains($0) == true }) {
            return "tag key \"\(both)\" is both a series dimension and a breakdown key"
        }
        if breakdownKeys.contains("") || seriesKeys?.contains("") == true || heavyHitterKey == "" { return "an empty tag key" }
        if Set(breakdownKeys).count != breakdownKeys.count { return "a breakdown key listed twice" }
        return nil
    }
}
