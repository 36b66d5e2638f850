import TallyCore
import TallySketches

/// "Who is burning the budget" (INDEX.md, "Budget"): the heavy hitters of a window or a
/// span (SNAPSHOT.md, "Heavy hitters") merged over every deployment slice, and for a span
/// over its windows, with the snapshot merge (Cafaro, Pulimeno and Tempesta, "A parallel
/// space saving algorithm for frequent items and the Hurwitz zeta distribution", 2016), so
/// that the bounds hold for the merged totals: each estimate is at least the true weight
/// and at most its `error` more, `error` ≤ `error_bound` = total ÷ capacity, and every key
/// heavier than `error_bound` is held. The heaviest ``rows`` of each summary are listed.
public struct BudgetReport: Sendable, Codable, Equatable {
    /// Entries listed per summary (at most; a summary holds at most `capacity`).
    public static let rows = 10

    /// k: counters per summary, per slice.
    public var capacity: Int
    /// The heavy-hitter tag whose values the tenant summaries rank; absent without them.
    public var tenantTag: String?
    public var usersByRequests: Ranking
    public var usersByCost: Ranking
    public var tenantsByRequests: Ranking?
    public var tenantsByCost: Ranking?

    enum CodingKeys: String, CodingKey {
        case capacity
        case tenantTag = "tenant_tag"
        case usersByRequests = "users_by_requests"
        case usersByCost = "users_by_cost"
        case tenantsByRequests = "tenants_by_requests"
        case tenantsByCost = "tenants_by_cost"
    }

    /// One summary's heaviest entries.
    public struct Ranking: Sendable, Codable, Equatable {
        /// `count` (requests) or `usd` (cost in US dollars).
        public var unit: String
        /// W: the summary's total weight (requests, or US dollars).
        public var total: Double
        /// W ÷ k: no entry's `error` exceeds it, and every key heavier than it is listed
        /// (when it is among the heaviest ``BudgetReport/rows``).
        public var errorBound: Double
        public var top: [Entry]

        enum CodingKeys: String, CodingKey {
            case unit, total, top
            case errorBound = "error_bound"
        }
    }

    /// One ranked key: a hashed user (16 hex digits) or a tenant (the tag's value).
    public struct Entry: Sendable, Codable, Equatable {
        public var user: String?
        public var tenant: String?
        /// At least the key's true weight, at most `error` more.
        public var estimate: Double
        public var error: Double
        /// estimate ÷ total; absent when the total is 0.
        public var share: Double?
    }

    /// The report of `merged` (a fleet's, or a span's, summaries).
    public init(_ merged: SliceHeavyHitters) {
        func ranking(_ summary: HeavyHitters, unit: String, name: (UInt64) -> (user: String?, tenant: String?)) -> Ranking {
            let total = summary.totalWeight
            return Ranking(unit: unit, total: total, errorBound: summary.errorBound, top: summary.top(Self.rows).map {
                let (user, tenant) = name($0.key)
                return Entry(user: user, tenant: tenant, estimate: $0.estimate, error: $0.error,
                             share: total > 0 ? $0.estimate / total : nil)
            })
        }
        capacity = merged.capacity
        usersByRequests = ranking(merged.usersByRequests, unit: "count") { (SliceHeavyHitters.userText($0), nil) }
        usersByCost = ranking(merged.usersByCost, unit: "usd") { (SliceHeavyHitters.userText($0), nil) }
        if let tenants = merged.tenants {
            tenantTag = tenants.tagKey
            tenantsByRequests = ranking(tenants.byRequests, unit: "count") { (nil, tenants.names[$0] ?? "") }
            tenantsByCost = ranking(tenants.byCost, unit: "usd") { (nil, tenants.names[$0] ?? "") }
        }
    }
}
