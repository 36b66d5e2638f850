import Foundation
import Testing
@testable import TallyIndex
import TallyCore
import TallySketches
import TallySynthetic
import TallyWire

/// The documents' `budget` (INDEX.md, "Budget"): heavy hitters merged over a window's slices
/// and over a span's windows keep Space-Saving's guarantees against exact counts.
@Suite struct BudgetReportTests {
    /// Exact weights of every key, per summary kind.
    struct Truth {
        var usersByRequests: [UInt64: Double] = [:]
        var usersByCost: [UInt64: Double] = [:]
        var tenantsByRequests: [String: Double] = [:]
        var tenantsByCost: [String: Double] = [:]

        mutating func add(_ other: Truth) {
            usersByRequests.merge(other.usersByRequests, uniquingKeysWith: +)
            usersByCost.merge(other.usersByCost, uniquingKeysWith: +)
            tenantsByRequests.merge(other.tenantsByRequests, uniquingKeysWith: +)
            tenantsByCost.merge(other.tenantsByCost, uniquingKeysWith: +)
        }
    }

    /// One slice's summaries of capacity `k` over 600 skewed frames (users 1 … 60, tenants
    /// t-0 … t-19, heavier at the low ids), and their exact weights.
    static func slice(_ ring: DeploymentRing, window: Int, k: Int) -> (SliceHeavyHitters, Truth) {
        var users = HeavyHitters(capacity: k), userCost = HeavyHitters(capacity: k)
        var tenantRequests = HeavyHitters(capacity: k), tenantCost = HeavyHitters(capacity: k)
        var names: [UInt64: String] = [:]
        var truth = Truth()
        var rng = SplitMix64(seed: UInt64(window * 10 + (ring == .canary ? 1 : 0)))
        for _ in 0..<600 {
            let r = rng.next()
            let user = (r % 60) * (r >> 8 % 60) / 60 + 1  // a product of two uniforms: small ids heavier
            let tenant = "t-\((r >> 16) % 20 * ((r >> 24) % 20) / 20)"
            let cost = Double((r >> 32) % 1_000) / 100_000
            users.insert(user)
            userCost.insert(user, weight: cost)
            truth.usersByRequests[user, default: 0] += 1
            truth.usersByCost[user, default: 0] += cost
            let key = IdentifierHash.hash(tenant)
            names[key] = tenant
            tenantRequests.insert(key)
            tenantCost.insert(key, weight: cost)
            truth.tenantsByRequests[tenant, default: 0] += 1
            truth.tenantsByCost[tenant, default: 0] += cost
        }
        let tenantPart = try! TenantHeavyHitters(tagKey: "tenant", byRequests: tenantRequests, byCost: tenantCost, names: names)
        let labels = SeriesLabels(model: "m", modelVersion: ring == .canary ? "2" : "1", promptVersion: "p1", route: "chat", ring: ring)
        return (SliceHeavyHitters(labels: labels, usersByRequests: users, usersByCost: userCost, tenants: tenantPart), truth)
    }

    /// IndexSpecTests' window `w` with the heavy hitters of its two slices.
    static func snapshot(window w: Int, k: Int = 8) -> (Snapshot, Truth) {
        var snapshot = IndexSpecTests.snapshot(window: w)
        let (stable, stableTruth) = slice(.stable, window: w, k: k)
        let (canary, canaryTruth) = slice(.canary, window: w, k: k)
        snapshot.heavyHitters = [stable, canary]
        var truth = stableTruth
        truth.add(canaryTruth)
        return (snapshot, truth)
    }

    /// The ranking's guarantees against exact weights: total, each estimate within its error
    /// above the truth, each error within W/k, every key heavier than W/k listed unless 10
    /// listed keys are at least as heavy, heaviest first, shares.
    static func check<Key: Hashable>(_ ranking: BudgetReport.Ranking, _ truth: [Key: Double], capacity: Int, unit: String,
                                     key: (BudgetReport.Entry) -> Key?, _ what: String) {
        let total = truth.values.reduce(0, +)
        let slack = 1e-9 * max(1, total)  // cost sums in a different order
        #expect(ranking.unit == unit, "\(what)")
        #expect(abs(ranking.total - total) <= slack, "\(what): total \(ranking.total) against \(total)")
        #expect(abs(ranking.errorBound - ranking.total / Double(capacity)) <= slack, "\(what)")
        #expect(!ranking.top.isEmpty && ranking.top.count <= BudgetReport.rows, "\(what)")
        var listed = Set<Key>()
        for entry in ranking.top {
            guard let k = key(entry) else { Issue.record("\(what): an entry without its key kind"); continue }
            listed.insert(k)
            let exact = truth[k] ?? 0
            #expect(exact <= entry.estimate + slack && entry.estimate <= exact + entry.error + slack,
                    "\(what): \(k) exact \(exact), estimate \(entry.estimate) ± \(entry.error)")
            #expect(entry.error <= ranking.errorBound + slack, "\(what)")
            #expect(entry.share.map { abs($0 - entry.estimate / ranking.total) <= 1e-12 } == true, "\(what)")
        }
        #expect(zip(ranking.top, ranking.top.dropFirst()).allSatisfy { $0.estimate >= $1.estimate }, "\(what): heaviest first")
        let full = ranking.top.count == BudgetReport.rows
        for (k, weight) in truth where weight > ranking.errorBound + slack {
            #expect(listed.contains(k) || (full && weight <= ranking.top.last!.estimate + slack),
                    "\(what): \(k) weighs \(weight) > W/k = \(ranking.errorBound) and is not listed")
        }
    }

    @Test func theWindowsBudgetIsItsSlicesMergedWithinTheBounds() throws {
        let engine = IndexEngine(policy: .standard, collectorID: "budget")
        let (snapshot, truth) = Self.snapshot(window: 0)
        let documents = try engine.evaluate(snapshot)
        let window = try #require(documents.first { $0.span == "window" })
        Self.checkBudget(window.budget, truth, capacity: 8, "window")
        // The same as merging the slices directly.
        let merged = try #require(try SliceHeavyHitters.merged(snapshot.heavyHitters))
        #expect(window.budget == BudgetReport(merged))
        // In JSON, as INDEX.md names the keys (IndexSpecTests checks them all).
        let json = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(window)) as? [String: Any]
        let budget = json?["budget"] as? [String: Any]
        let tenants = budget?["tenants_by_cost"] as? [String: Any]
        #expect(budget?["tenant_tag"] as? String == "tenant" && tenants?["error_bound"] is Double)
        #expect((tenants?["top"] as? [[String: Any]])?.first?["tenant"] is String)
    }

    @Test func aSpansBudgetMergesItsWindows() throws {
        let engine = IndexEngine(policy: .standard, collectorID: "budget")
        var truth = Truth()
        var documents: [IndexDocument] = []
        for w in 0..<3 {
            let (snapshot, t) = Self.snapshot(window: w)
            truth.add(t)
            documents = try engine.evaluate(snapshot)
        }
        let span = try #require(documents.first { $0.span == "5m" })
        #expect(span.windows == 3)
        Self.checkBudget(span.budget, truth, capacity: 8, "5m span")
        #expect(span.budget != documents.first { $0.span == "window" }?.budget)
    }

    @Test func withoutHeavyHittersThereIsNoBudget() throws {
        let engine = IndexEngine(policy: .standard, collectorID: "budget")
        let documents = try engine.evaluate(IndexSpecTests.snapshot(window: 0))
        #expect(!documents.isEmpty && documents.allSatisfy { $0.budget == nil })
        let json = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(documents[0])) as? [String: Any]
        #expect(json?["scopes"] != nil && json?["budget"] == nil, "the key is absent, not null")
    }

    /// A restart with another k: the window's summaries do not merge with the span's older
    /// ones, and the span keeps the newer (INDEX.md, "Budget").
    @Test func aSpanAcrossAChangeOfCapacityKeepsTheNewerSummaries() throws {
        let engine = IndexEngine(policy: .standard, collectorID: "budget")
        _ = try engine.evaluate(Self.snapshot(window: 0, k: 8).0)
        let (snapshot, truth) = Self.snapshot(window: 1, k: 16)
        let documents = try engine.evaluate(snapshot)
        let span = try #require(documents.first { $0.span == "5m" })
        #expect(span.windows == 2)
        Self.checkBudget(span.budget, truth, capacity: 16, "5m span after the change")
        // The window's own slices with two capacities do not merge: no budget, the rest stands.
        var mixed = Self.snapshot(window: 2, k: 8).0
        mixed.heavyHitters[1] = Self.slice(.canary, window: 2, k: 16).0
        let mixedDocuments = try engine.evaluate(mixed)
        #expect(mixedDocuments.first?.budget == nil && mixedDocuments.first?.scopes.isEmpty == false)
    }

    /// Every ranking of `budget` against `truth` (users compared by their hex text).
    static func checkBudget(_ budget: BudgetReport?, _ truth: Truth, capacity: Int, _ what: String) {
        guard let budget else {
            Issue.record("\(what): no budget")
            return
        }
        #expect(budget.capacity == capacity)
        #expect(budget.tenantTag == "tenant")
        let byRequests = Dictionary(uniqueKeysWithValues: truth.usersByRequests.map { (SliceHeavyHitters.userText($0.key), $0.value) })
        let byCost = Dictionary(uniqueKeysWithValues: truth.usersByCost.map { (SliceHeavyHitters.userText($0.key), $0.value) })
        check(budget.usersByRequests, byRequests, capacity: capacity, unit: "count", key: { $0.tenant == nil ? $0.user : nil }, what + " users by requests")
        check(budget.usersByCost, byCost, capacity: capacity, unit: "usd", key: { $0.tenant == nil ? $0.user : nil }, what + " users by cost")
        guard let tenantsByRequests = budget.tenantsByRequests, let tenantsByCost = budget.tenantsByCost else {
            Issue.record("\(what): no tenant rankings")
            return
        }
        check(tenantsByRequests, truth.tenantsByRequests, capacity: capacity, unit: "count", key: { $0.user == nil ? $0.tenant : nil }, what + " tenants by requests")
        check(tenantsByCost, truth.tenantsByCost, capacity: capacity, unit: "usd", key: { $0.user == nil ? $0.tenant : nil }, what + " tenants by cost")
    }
}
