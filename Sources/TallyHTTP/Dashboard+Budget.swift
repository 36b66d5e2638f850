import TallyCore
import TallyIndex
import TallySketches

/// The dashboard's "who is burning the budget" section: the newest window's heavy hitters
/// (SNAPSHOT.md, "Heavy hitters") merged over every deployment slice into one fleet summary
/// per kind, the heaviest tenants (with a heavy-hitter tag) and hashed users by cost and by
/// requests. Merging slices is the snapshot merge's (Cafaro et al. 2016), so the bounds hold
/// for the fleet's totals: each estimate over-counts by at most its "±", which is at most
/// W/k, and every key heavier than W/k is listed.
extension Dashboard {
    /// Rows shown per table.
    static let budgetRows = 10

    /// The newest snapshot's summaries merged over its slices (labels: the first slice's);
    /// nil without heavy hitters, or if they do not merge (capacities or tenant tags that
    /// differ, which one collector never writes).
    static func fleetHeavyHitters(_ snapshot: Snapshot?) -> SliceHeavyHitters? {
        (try? SliceHeavyHitters.merged(snapshot?.heavyHitters ?? [])) ?? nil
    }

    static func budget(_ snapshot: Snapshot?) -> String {
        guard let fleet = fleetHeavyHitters(snapshot) else {
            return section("budget", "Who is burning the budget", empty: "No heavy hitters kept (tallyd's heavy_hitters = 0).",
                           headers: [], rows: [])
        }
        var html = "<section id=\"budget\"><h2>Who is burning the budget (newest window, all slices)</h2>\n"
        html += "<p>Space-Saving summaries of \(fleet.usersByCost.capacity) counters a slice: an estimate is at least the true "
            + "figure and at most its ± more; everything heavier than W/k is listed.</p>\n"
        if let tenants = fleet.tenants {
            html += table("budget-tenants-cost", "Tenants (\(escape(tenants.tagKey))) by cost", tenants.byCost, "usd",
                          other: tenants.byRequests, otherUnit: "count", otherName: "requests") {
                ("tenant", escape(tenants.names[$0] ?? ""))
            }
            html += table("budget-tenants-requests", "Tenants (\(escape(tenants.tagKey))) by requests", tenants.byRequests, "count",
                          other: tenants.byCost, otherUnit: "usd", otherName: "cost") {
                ("tenant", escape(tenants.names[$0] ?? ""))
            }
        }
        html += table("budget-users-cost", "Users by cost", fleet.usersByCost, "usd",
                      other: fleet.usersByRequests, otherUnit: "count", otherName: "requests") { ("user", SliceHeavyHitters.userText($0)) }
        html += table("budget-users-requests", "Users by requests", fleet.usersByRequests, "count",
                      other: fleet.usersByCost, otherUnit: "usd", otherName: "cost") { ("user", SliceHeavyHitters.userText($0)) }
        return html + "</section>\n"
    }

    /// One ranked table: the `budgetRows` heaviest of `summary`, each with its estimate, its
    /// ± and share of W, and its estimate in `other` ("≤" when `other` is full and does not
    /// hold it: then only its bound is known; not full, a key it does not hold had 0).
    static func table(_ id: String, _ title: String, _ summary: HeavyHitters, _ unit: String, other: HeavyHitters,
                      otherUnit: String, otherName: String, name: (UInt64) -> (kind: String, text: String)) -> String {
        var html = "<h3>\(title)</h3>\n"
        let top = summary.top(budgetRows)
        guard !top.isEmpty else { return html + "<p id=\"\(id)\">None in this window.</p>\n" }
        html += "<table id=\"\(id)\" data-total=\"\(summary.totalWeight)\"><tr><th>#</th><th>\(name(top[0].key).kind)</th>"
            + "<th>estimate</th><th>±</th><th>share of W</th><th>\(otherName)</th></tr>\n"
        for (rank, entry) in top.enumerated() {
            let (kind, text) = name(entry.key)
            let boundOnly = other.count == other.capacity && !other.entries.contains { $0.key == entry.key }
            let share = summary.totalWeight > 0 ? entry.estimate / summary.totalWeight : 0
            html += "<tr data-\(kind)=\"\(text)\" data-estimate=\"\(entry.estimate)\" data-error=\"\(entry.error)\">"
                + "<td>\(rank + 1)</td><td>\(text)</td><td>\(format(entry.estimate, unit))</td><td>\(format(entry.error, unit))</td>"
                + "<td>\(UnitFormat.fixed(share * 100, 1)) %</td>"
                + "<td>\(boundOnly ? "≤ " : "")\(format(other.estimate(entry.key), otherUnit))</td></tr>\n"
        }
        return html + "</table>\n"
    }
}
