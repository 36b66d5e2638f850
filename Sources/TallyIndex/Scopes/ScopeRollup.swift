import TallyCore
import TallySketches

/// Rolls a snapshot's series up into the policy's scopes.
///
/// Cost: two passes over the series' sketches, whatever the number of scope kinds
/// and cohort keys. The first merges series into base cells (model, version, prompt
/// version, route, ring: every dimension but the tags), from which the fleet, model,
/// version, prompt-version, route, ring and model-ring scopes are merged; the second
/// merges series into cohort cells (the combination of the cohort keys' values), from
/// which each cohort key's scopes are merged. Cells number far fewer than series in a
/// busy window (the tenants and other tags multiply series, not cells), so the merges
/// after each pass are small. The two passes read the snapshot only and run on two
/// threads at once (the evaluation's latency, not its CPU, is what the flusher waits
/// for). The overflow series (past the cardinality cap) counts towards the fleet only.
public enum ScopeRollup {
    /// - Parameter cohortDigests: the distributions cohort scopes carry (``Policy/cohortDigests``).
    public static func scopes(of snapshot: Snapshot, kinds: [Scope.Kind], cohortKeys: [String],
                              cohortDigests: DigestSet = .all) throws(SketchError) -> [Scope: ScopeAggregate] {
        try rollUp(snapshot, kinds: kinds, cohortKeys: cohortKeys, cohortDigests: cohortDigests).scopes
    }

    /// The scopes and the base cells' labels (every distinct model, version, prompt version,
    /// route and ring of the window: what the canary report lists as versions).
    public static func rollUp(_ snapshot: Snapshot, kinds: [Scope.Kind], cohortKeys: [String],
                              cohortDigests: DigestSet = .all) throws(SketchError) -> (scopes: ScopeMap, cells: [SeriesLabels]) {
        let grouping = baseCells(snapshot.series)
        // Three independent merges on the available cores: the base cells' sketches in two
        // halves (the base pass merges every sketch of every series and was twice the cohort
        // pass) and the cohort scopes. Each writes only its own result; concurrentPerform
        // returns once all are done.
        let halves: [DigestSet] = [[.totalLatency, .timeToFirstToken, .queueTime, .users],
                                   [.timePerOutputToken, .inputTokens, .outputTokens, .cost]]
        enum Pass { case cells([ScopeAggregate]), cohorts(ScopeMap) }
        let passes = try concurrentMap(cohortKeys.isEmpty ? 2 : 3) { (task) throws(SketchError) -> Pass in
            if task < 2 {
                return .cells(try (grouping.members + (grouping.overflow.isEmpty ? [] : [grouping.overflow])).map {
                    (members) throws(SketchError) in
                    try ScopeAggregate(rollingUp: members, of: snapshot.series, digests: halves[task], sketches: snapshot.sketches)
                })
            }
            return .cohorts(try cohortScopes(snapshot, keys: cohortKeys, digests: cohortDigests))
        }
        guard case .cells(var aggregates) = passes[0], case .cells(let second) = passes[1] else { fatalError("pass order") }
        for n in aggregates.indices { aggregates[n].adopt(halves[1], from: second[n]) }
        var result = try baseScopes(cells: Array(zip(grouping.labels, aggregates.prefix(grouping.members.count))),
                                    overflow: grouping.overflow.isEmpty ? nil : aggregates.last, kinds: kinds)
        if passes.count == 3, case .cohorts(let cohorts) = passes[2] { result.merge(cohorts) { a, _ in a } }
        return (result, grouping.labels)
    }

    /// Series grouped into base cells (the series without their tags), in order of first
    /// appearance, and the overflow series apart. Labels are read in place and keyed by a
    /// hash (a cell's first series is its representative, compared on a hash collision):
    /// copying each series' labels to key a dictionary cost five retains a series.
    static func baseCells(_ series: [SnapshotSeries]) -> (members: [[Int]], labels: [SeriesLabels], overflow: [Int]) {
        var cellByHash: [Int: [Int]] = [:]  // hash → cell numbers
        var cellMembers: [[Int]] = []
        var cellLabels: [SeriesLabels] = []
        var overflow: [Int] = []
        series.withUnsafeBufferPointer { buffer in
            for i in buffer.indices {
                if buffer[i].labels.model == SeriesLabels.overflow.model && buffer[i].labels.tags.isEmpty {
                    overflow.append(i)
                    continue
                }
                var hasher = Hasher()
                hasher.combine(buffer[i].labels.model)
                hasher.combine(buffer[i].labels.modelVersion)
                hasher.combine(buffer[i].labels.promptVersion)
                hasher.combine(buffer[i].labels.route)
                hasher.combine(buffer[i].labels.ring)
                let hash = hasher.finalize()
                let candidates = cellByHash[hash] ?? []
                if let n = candidates.first(where: { Self.sameCell(cellLabels[$0], buffer[i].labels) }) {
                    cellMembers[n].append(i)
                } else {
                    var cell = buffer[i].labels
                    cell.tags = []
                    cellByHash[hash, default: []].append(cellMembers.count)
                    cellMembers.append([i])
                    cellLabels.append(cell)
                }
            }
        }
        return (cellMembers, cellLabels, overflow)
    }

    /// The scopes of `kinds`, merged from the base cells (the overflow series' aggregate
    /// counts towards the fleet only).
    static func baseScopes(cells unsorted: [(SeriesLabels, ScopeAggregate)], overflow: ScopeAggregate?,
                           kinds: [Scope.Kind]) throws(SketchError) -> ScopeMap {
        var result: ScopeMap = [:]
        let cells = unsorted.sorted { $0.0 < $1.0 }.map { (labels: $0.0, aggregate: $0.1) }  // deterministic merge order
        for kind in kinds {
            var groups: [Scope: [ScopeAggregate]] = [:]
            for cell in cells {
                guard let scope = Scope.of(cell.labels, kind: kind) else { continue }
                groups[scope, default: []].append(cell.aggregate)
            }
            if kind == .fleet, let overflow { groups[.fleet, default: []].append(overflow) }
            for (scope, parts) in groups { result[scope] = try ScopeAggregate.merged(parts) }
        }
        return result
    }

    /// Pass 2: each cohort key's scopes, merged from the cohort cells.
    static func cohortScopes(_ snapshot: Snapshot, keys cohortKeys: [String], digests cohortDigests: DigestSet) throws(SketchError) -> ScopeMap {
        var result: ScopeMap = [:]
        let series = snapshot.series
        // Pass 2: cohort cells, the combination of the cohort keys' values, each value
        // numbered per key so that a cell's key is one integer vector built without copies.
        var codes: [[String: Int]] = Array(repeating: [:], count: cohortKeys.count)
        var names: [[String]] = Array(repeating: [""], count: cohortKeys.count)  // code 0: no value
        var cohortIndex: [[Int]: Int] = [:]
        var cohortMembers: [[Int]] = []
        var cohortValues: [[String]] = []
        var vector = [Int](repeating: 0, count: cohortKeys.count)
        series.withUnsafeBufferPointer { buffer in
            for i in buffer.indices where buffer[i].labels.model != SeriesLabels.overflow.model {
                for k in vector.indices { vector[k] = 0 }
                var any = false
                for tag in buffer[i].labels.tags {
                    guard let k = cohortKeys.firstIndex(of: tag.key) else { continue }
                    if let code = codes[k][tag.value] {
                        vector[k] = code
                    } else {
                        vector[k] = names[k].count
                        codes[k][tag.value] = names[k].count
                        names[k].append(tag.value)
                    }
                    any = true
                }
                guard any else { continue }
                if let n = cohortIndex[vector] {
                    cohortMembers[n].append(i)
                } else {
                    cohortIndex[vector] = cohortMembers.count
                    cohortMembers.append([i])
                    cohortValues.append(vector.enumerated().map { names[$0.offset][$0.element] })
                }
            }
        }
        var cohortCells: [(values: [String], aggregate: ScopeAggregate)] = []
        for n in cohortMembers.indices {
            cohortCells.append((cohortValues[n], try ScopeAggregate(rollingUp: cohortMembers[n], of: series, digests: cohortDigests,
                                                                             sketches: snapshot.sketches)))
        }
        cohortCells.sort { $0.values.lexicographicallyPrecedes($1.values) }
        for (k, key) in cohortKeys.enumerated() {
            var groups: [String: [ScopeAggregate]] = [:]
            for cell in cohortCells where !cell.values[k].isEmpty { groups[cell.values[k], default: []].append(cell.aggregate) }
            for (value, parts) in groups {
                result[Scope(kind: .cohort, labels: [Scope.Label(key, value)])] = try ScopeAggregate.merged(parts)
            }
        }
        return result
    }

    /// Whether two series fall in the same base cell (every dimension but the tags).
    static func sameCell(_ a: SeriesLabels, _ b: SeriesLabels) -> Bool {
        a.model == b.model && a.modelVersion == b.modelVersion && a.promptVersion == b.promptVersion
            && a.route == b.route && a.ring == b.ring
    }
}
