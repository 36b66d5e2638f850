import TallyCore
import TallySketches

/// Rolls a snapshot's series (and, for cohort scopes, its cohort aggregates) up into the
/// policy's scopes.
///
/// Cost: two passes over the series' sketches, whatever the number of scope kinds
/// and cohort keys. The first merges series into base cells (model, version, prompt
/// version, route, ring: every dimension but the tags), from which the version,
/// prompt-version, route and model-ring scopes are merged, and the fleet, model and ring
/// scopes from the model-ring scopes; the second merges series into cohort cells (the
/// combination of the cohort keys' values), from which each cohort key's scopes are
/// merged. Cells number far fewer than series in a busy window (the tenants and other
/// tags multiply series, not cells), so the merges after each pass are small. The two
/// passes read the snapshot only and run, split by sketch into six jobs, on the
/// available cores at once (the evaluation's latency, not its CPU, is what the flusher
/// waits for). The overflow series (past the cardinality cap) counts towards the fleet only.
public enum ScopeRollup {
    /// - Parameters:
    ///   - cohortDigests: the distributions cohort scopes carry (``Policy/cohortDigests``).
    ///   - cohortCategories: whether cohort scopes carry the category histogram (only drift
    ///     over cohort scopes reads it); empty otherwise.
    public static func scopes(of snapshot: Snapshot, kinds: [Scope.Kind], cohortKeys: [String],
                              cohortDigests: DigestSet = .all, cohortCategories: Bool = true) throws(SketchError) -> [Scope: ScopeAggregate] {
        try rollUp(snapshot, kinds: kinds, cohortKeys: cohortKeys, cohortDigests: cohortDigests,
                   cohortCategories: cohortCategories).scopes
    }

    /// The scopes and the base cells' labels (every distinct model, version, prompt version,
    /// route and ring of the window: what the canary report lists as versions).
    public static func rollUp(_ snapshot: Snapshot, kinds: [Scope.Kind], cohortKeys: [String], cohortDigests: DigestSet = .all,
                              cohortCategories: Bool = true) throws(SketchError) -> (scopes: ScopeMap, cells: [SeriesLabels]) {
        let grouping = baseCells(snapshot.series)
        let baseMembers = grouping.members + (grouping.overflow.isEmpty ? [] : [grouping.overflow])
        // Cohort scopes come from series tags (a collector whose tags are series dimensions)
        // and from cohort aggregates (breakdown keys, SNAPSHOT.md "Cohort aggregates"): one
        // frame is in one or the other, never both, so a merge of both kinds rolls up whole.
        let cohortSource = snapshot.cohorts.isEmpty || cohortKeys.isEmpty ? snapshot.series : snapshot.series + snapshot.cohorts
        let cohorts: (members: [[Int]], values: [[String]]) =
            cohortKeys.isEmpty ? ([], []) : cohortCells(cohortSource, keys: cohortKeys)
        // Independent merges on the available cores: each job merges some of the sketches of
        // every base cell or every cohort cell, reading the snapshot only and writing its own
        // result (concurrentPerform returns once all are done). Six jobs of similar size
        // keep both cores busy to the end; the three uneven jobs before (two halves of the
        // base cells' sketches and the whole cohort pass) left one core idle for the last.
        // The counters (and the categories) are summed by the first job of each pass only.
        let baseParts: [DigestSet] = [[.totalLatency, .users], [.timeToFirstToken, .queueTime],
                                      [.timePerOutputToken, .inputTokens], [.outputTokens, .cost]]
        // A distribution the snapshot's cohort aggregates keep as a summary has no quantiles
        // to judge: left empty in cohort scopes, so its KPIs are absent there (INDEX.md).
        let cohortDigests = cohortDigests.subtracting(DigestSet(summarized: snapshot.cohortSummaries))
        let cohortParts = cohorts.members.isEmpty ? [] : halves(of: cohortDigests)
        let jobs = baseParts.map { (digests: $0, cohort: false) } + cohortParts.map { (digests: $0, cohort: true) }
        let merged = try concurrentMap(jobs.count) { (job) throws(SketchError) -> [ScopeAggregate] in
            let (digests, cohort) = jobs[job]
            let first = job == 0 || job == baseParts.count
            return try (cohort ? cohorts.members : baseMembers).map { (members) throws(SketchError) in
                try ScopeAggregate(rollingUp: members, of: cohort ? cohortSource : snapshot.series, digests: digests,
                                   sketches: snapshot.sketches,
                                   counters: first, categories: cohort ? cohortCategories : true)
            }
        }
        var aggregates = merged[0], cohortAggregates = merged.count > baseParts.count ? merged[baseParts.count] : []
        for job in jobs.indices where job != 0 && job != baseParts.count {
            if jobs[job].cohort {
                for n in cohortAggregates.indices { cohortAggregates[n].adopt(jobs[job].digests, from: merged[job][n]) }
            } else {
                for n in aggregates.indices { aggregates[n].adopt(jobs[job].digests, from: merged[job][n]) }
            }
        }
        var result = try baseScopes(cells: Array(zip(grouping.labels, aggregates.prefix(grouping.members.count))),
                                    overflow: grouping.overflow.isEmpty ? nil : aggregates.last, kinds: kinds)
        let cohortMap = try cohortScopes(cells: Array(zip(cohorts.values, cohortAggregates)), keys: cohortKeys)
        result.merge(cohortMap) { a, _ in a }
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
    ///
    /// The version, prompt-version, route and model × ring scopes are merged from the cells;
    /// the fleet, model and ring scopes from the model × ring scopes, which partition the
    /// cells (every cell has one model and one ring). Merging those three from the cells
    /// re-merged every cell's centroids three more times: at 10,000 series a quarter of
    /// the evaluation. The extra merge level moves their quantiles within the digests'
    /// merge error (INDEX.md, "Scopes").
    static func baseScopes(cells unsorted: [(SeriesLabels, ScopeAggregate)], overflow: ScopeAggregate?,
                           kinds: [Scope.Kind]) throws(SketchError) -> ScopeMap {
        var result: ScopeMap = [:]
        let cells = unsorted.sorted { $0.0 < $1.0 }.map { (labels: $0.0, aggregate: $0.1) }  // deterministic merge order
        let fromModelRing: Set<Scope.Kind> = [.fleet, .model, .ring]
        let needsModelRing = kinds.contains { fromModelRing.contains($0) }
        var modelRings: ScopeMap = [:]
        for kind in kinds where !fromModelRing.contains(kind) || kind == .modelRing {
            var groups: [Scope: [ScopeAggregate]] = [:]
            for cell in cells {
                guard let scope = Scope.of(cell.labels, kind: kind) else { continue }
                groups[scope, default: []].append(cell.aggregate)
            }
            for (scope, parts) in groups { result[scope] = try ScopeAggregate.merged(parts) }
        }
        if needsModelRing {
            // The model × ring scopes: taken from the result if asked for, else merged for this only.
            if kinds.contains(.modelRing) {
                modelRings = result.filter { $0.key.kind == .modelRing }
            } else {
                var groups: [Scope: [ScopeAggregate]] = [:]
                for cell in cells { groups[Scope.of(cell.labels, kind: .modelRing)!, default: []].append(cell.aggregate) }
                for (scope, parts) in groups { modelRings[scope] = try ScopeAggregate.merged(parts) }
            }
        }
        let parts = modelRings.sorted { $0.key < $1.key }
        for kind in kinds where fromModelRing.contains(kind) {
            var groups: [Scope: [ScopeAggregate]] = [:]
            for (scope, aggregate) in parts {
                let (model, ring) = (scope.labels[0].value, scope.labels[1].value)
                let target: Scope
                switch kind {
                case .fleet: target = .fleet
                case .model:
                    guard !model.isEmpty else { continue }
                    target = Scope(kind: .model, labels: [Scope.Label("model", model)])
                default:
                    guard !ring.isEmpty else { continue }
                    target = Scope(kind: .ring, labels: [Scope.Label("ring", ring)])
                }
                groups[target, default: []].append(aggregate)
            }
            if kind == .fleet, let overflow { groups[.fleet, default: []].append(overflow) }
            for (scope, parts) in groups { result[scope] = try ScopeAggregate.merged(parts) }
        }
        return result
    }

    /// `digests` in two halves of about equal work (alternate members), for two jobs; one
    /// part when it has a single member or none (the counters still need a job).
    static func halves(of digests: DigestSet) -> [DigestSet] {
        var parts: [DigestSet] = [[], []]
        var n = 0
        for bit in 0..<8 where digests.contains(DigestSet(rawValue: 1 << bit)) {
            parts[n & 1].insert(DigestSet(rawValue: 1 << bit))
            n += 1
        }
        return parts[1].isEmpty ? [parts[0]] : parts
    }

    /// Pass 2's grouping: series into cohort cells, the combination of the cohort keys'
    /// values (`values[n][k]`: cell n's value of key k, empty for none), in order of first
    /// appearance; series with none of the keys (and the overflow series) are in no cell.
    /// Each value is numbered per key so that a cell's key is one integer vector built without copies.
    static func cohortCells(_ series: [SnapshotSeries], keys cohortKeys: [String]) -> (members: [[Int]], values: [[String]]) {
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
        return (cohortMembers, cohortValues)
    }

    /// Each cohort key's scopes, merged from the cohort cells' roll-ups.
    static func cohortScopes(cells unsorted: [(values: [String], aggregate: ScopeAggregate)],
                             keys cohortKeys: [String]) throws(SketchError) -> ScopeMap {
        var result: ScopeMap = [:]
        let cells = unsorted.sorted { $0.values.lexicographicallyPrecedes($1.values) }  // deterministic merge order
        for (k, key) in cohortKeys.enumerated() {
            var groups: [String: [ScopeAggregate]] = [:]
            for cell in cells where !cell.values[k].isEmpty { groups[cell.values[k], default: []].append(cell.aggregate) }
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
