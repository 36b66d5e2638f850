import TallyCore
import TallySketches

/// Rolls a snapshot's series up into the policy's scopes.
///
/// Cost: series are first merged into base cells (model, version, prompt version,
/// route, ring — every dimension but the tags), and the fleet, model, version,
/// prompt-version, route, ring and model-ring scopes are merged from those cells; each
/// cohort key takes one more pass over the series. So the sketches of every series
/// are merged 1 + (cohort keys) times, whatever the number of scope kinds. The
/// overflow series (past the cardinality cap) counts towards the fleet only.
public enum ScopeRollup {
    public static func scopes(of snapshot: Snapshot, kinds: [Scope.Kind], cohortKeys: [String]) throws(SketchError) -> [Scope: ScopeAggregate] {
        var result: [Scope: ScopeAggregate] = [:]
        // Base cells: the series without their tags.
        var cells: [SeriesLabels: [ScopeAggregate]] = [:]
        var overflow: [ScopeAggregate] = []
        for series in snapshot.series {
            if series.labels == .overflow {
                overflow.append(ScopeAggregate(series.aggregate))
                continue
            }
            var cell = series.labels
            cell.tags = []
            cells[cell, default: []].append(ScopeAggregate(series.aggregate))
        }
        var merged: [(labels: SeriesLabels, aggregate: ScopeAggregate)] = []
        merged.reserveCapacity(cells.count)
        for (labels, parts) in cells { merged.append((labels, try ScopeAggregate.merged(parts))) }
        merged.sort { $0.labels < $1.labels }  // deterministic merge order
        for kind in kinds {
            var groups: [Scope: [ScopeAggregate]] = [:]
            for cell in merged {
                guard let scope = Scope.of(cell.labels, kind: kind) else { continue }
                groups[scope, default: []].append(cell.aggregate)
            }
            if kind == .fleet, !overflow.isEmpty { groups[.fleet, default: []] += overflow }
            for (scope, parts) in groups { result[scope] = try ScopeAggregate.merged(parts) }
        }
        for key in cohortKeys {
            var groups: [Scope: [ScopeAggregate]] = [:]
            for series in snapshot.series {
                guard let scope = Scope.of(series.labels, kind: .cohort, cohortKey: key) else { continue }
                groups[scope, default: []].append(ScopeAggregate(series.aggregate))
            }
            for (scope, parts) in groups { result[scope] = try ScopeAggregate.merged(parts) }
        }
        return result
    }
}
