import Testing
import TallyCore
import TallyIndex
import TallySketches
import TallyWire
@testable import TallyHTTP

/// The dashboard's "who is burning the budget" section (``Dashboard/budget(_:)``): the newest
/// snapshot's heavy hitters merged over its slices, ranked, with their bounds.
@Suite struct DashboardBudgetTests {
    /// A summary of capacity `k` holding `weights` exactly (fewer keys than k).
    func summary(_ weights: [(UInt64, Double)], k: Int = 8) -> HeavyHitters {
        var s = HeavyHitters(capacity: k)
        for (key, weight) in weights { s.insert(key, weight: weight) }
        return s
    }

    /// Tenants of one slice: (name, requests, cost).
    func tenants(_ rows: [(String, Double, Double)], k: Int = 8) throws -> TenantHeavyHitters {
        try TenantHeavyHitters(tagKey: "tenant", byRequests: summary(rows.map { (IdentifierHash.hash($0.0), $0.1) }, k: k),
                               byCost: summary(rows.map { (IdentifierHash.hash($0.0), $0.2) }, k: k),
                               names: Dictionary(uniqueKeysWithValues: rows.map { (IdentifierHash.hash($0.0), $0.0) }))
    }

    func window(_ heavyHitters: [SliceHeavyHitters]) -> Snapshot {
        var aggregate = SeriesAggregate()
        for i in 0..<20 {
            aggregate.add(FrameValues(userHash: UInt64(i % 3 + 1), sessionHash: 1, cost: 0.01, queueTimeMicros: 1_000,
                                      timeToFirstTokenMicros: 20_000, totalLatencyMicros: 100_000, inputTokens: 50,
                                      outputTokens: 20, cachedInputTokens: 0, errorClass: 0, categoryID: 0, safetyKinds: [],
                                      status: .ok, outcome: OutcomeBits(), safetySeverity: SafetySeverity.none))
        }
        let series = ["a", "b"].map { SnapshotSeries(labels: SeriesLabels(model: $0), aggregate: aggregate, errorClasses: [:]) }
        return Snapshot(collectorID: "t", windowStartMicros: 10_000_000, windowEndMicros: 20_000_000, sequence: 0,
                        sketches: SketchParameters(), series: series, counters: [:], heavyHitters: heavyHitters)
    }

    func page(_ snapshot: Snapshot) throws -> String {
        let store = WebStore()
        let documents = try IndexEngine(policy: .standard, collectorID: "t").evaluate(snapshot)
        store.record(snapshot: snapshot, documents: documents)
        let reply = WebFace(store: store).respond(WebRequest(path: "/"))
        #expect(reply.status == 200)
        return reply.body
    }

    /// The rows of table `id` as (data attribute value, estimate, error), in page order.
    func rows(_ html: String, table id: String, attribute: String) -> [(String, Double, Double)] {
        guard let start = html.range(of: "<table id=\"\(id)\""), let end = html[start.upperBound...].range(of: "</table>") else { return [] }
        return html[start.upperBound..<end.lowerBound].split(separator: "<tr ").dropFirst().compactMap { row in
            func value(_ name: String) -> String? {
                guard let r = row.range(of: "\(name)=\"") else { return nil }
                return String(row[r.upperBound...].prefix { $0 != "\"" })
            }
            guard let key = value(attribute), let estimate = value("data-estimate").flatMap(Double.init),
                  let error = value("data-error").flatMap(Double.init) else { return nil }
            return (key, estimate, error)
        }
    }

    @Test func tenantsAndUsersAreRankedOverAllSlices() throws {
        let a = SliceHeavyHitters(labels: SeriesLabels(model: "a"), usersByRequests: summary([(1, 5), (2, 3)]),
                                  usersByCost: summary([(1, 2), (2, 0.5)]),
                                  tenants: try tenants([("acme", 5, 2), ("globex <&>", 3, 0.5)]))
        let b = SliceHeavyHitters(labels: SeriesLabels(model: "b"), usersByRequests: summary([(1, 1), (3, 4)]),
                                  usersByCost: summary([(1, 0.25), (3, 3)]),
                                  tenants: try tenants([("acme", 1, 0.25), ("initech", 4, 3)]))
        let html = try page(window([a, b]))
        #expect(html.contains("<section id=\"budget\">"))
        let byCost = rows(html, table: "budget-tenants-cost", attribute: "data-tenant")
        #expect(byCost.map(\.0) == ["initech", "acme", "globex &lt;&amp;&gt;"], "fleet cost: 3, 2.25, 0.5 (names escaped)")
        #expect(byCost.map(\.1) == [3, 2.25, 0.5] && byCost.allSatisfy { $0.2 == 0 }, "exact below k keys")
        let byRequests = rows(html, table: "budget-tenants-requests", attribute: "data-tenant")
        #expect(byRequests.map(\.0) == ["acme", "initech", "globex &lt;&amp;&gt;"] && byRequests.map(\.1) == [6, 4, 3])
        let users = rows(html, table: "budget-users-cost", attribute: "data-user")
        #expect(users.map(\.0) == ["0000000000000003", "0000000000000001", "0000000000000002"])
        #expect(users.map(\.1) == [3, 2.25, 0.5])
        #expect(html.contains("<h3>Tenants (tenant) by cost</h3>"))
    }

    /// Past k keys the summaries bound their estimates: the page shows the ± and marks a
    /// figure from the other summary that only bounds the key with "≤".
    @Test func fullSummariesShowTheirBounds() throws {
        var requests = HeavyHitters(capacity: 2), cost = HeavyHitters(capacity: 2)
        for (key, r, c) in [(1 as UInt64, 10.0, 1.0), (2, 6, 8), (3, 1, 0.5), (4, 1, 0.5)] {
            requests.insert(key, weight: r)
            cost.insert(key, weight: c)
        }
        let slice = SliceHeavyHitters(labels: SeriesLabels(model: "a"), usersByRequests: requests, usersByCost: cost)
        let html = try page(window([slice]))
        let byCost = rows(html, table: "budget-users-cost", attribute: "data-user")
        #expect(byCost.count == 2 && byCost.map(\.1) == cost.entries.map(\.estimate) && byCost.map(\.2) == cost.entries.map(\.error))
        #expect(!html.contains("budget-tenants-cost"), "no tenant tables without a heavy-hitter tag")
        // Both summaries are full: a key one holds and the other does not is only bounded there.
        let (inRequests, inCost) = (Set(requests.entries.map(\.key)), Set(cost.entries.map(\.key)))
        let bounded = cost.entries.filter { !inRequests.contains($0.key) }.count
            + requests.entries.filter { !inCost.contains($0.key) }.count
        #expect(bounded > 0)
        #expect(html.components(separatedBy: "<td>≤ ").count - 1 == bounded)
    }

    @Test func withoutHeavyHittersTheSectionSaysSo() throws {
        let html = try page(window([]))
        #expect(html.contains("<section id=\"budget\">") && html.contains("No heavy hitters kept"))
    }
}
