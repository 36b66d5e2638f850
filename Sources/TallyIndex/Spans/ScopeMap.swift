import TallySketches

/// Scope aggregates by scope: one window's, one block's or one span's.
public typealias ScopeMap = [Scope: ScopeAggregate]

enum ScopeMaps {
    /// The per-scope merge of `maps` (a scope missing from some maps merges what is there).
    static func merged(_ maps: [ScopeMap]) throws(SketchError) -> ScopeMap {
        let present = maps.filter { !$0.isEmpty }
        if present.count <= 1 { return present.first ?? [:] }
        var parts: [Scope: [ScopeAggregate]] = [:]
        for map in present {
            for (scope, aggregate) in map { parts[scope, default: []].append(aggregate) }
        }
        var result: ScopeMap = [:]
        result.reserveCapacity(parts.count)
        for (scope, list) in parts { result[scope] = try ScopeAggregate.merged(list) }
        return result
    }
}
