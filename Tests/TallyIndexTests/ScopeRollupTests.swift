import Testing
import TallyCore
@testable import TallyIndex
import TallySketches
import TallyTestSupport
import TallyWire

/// The roll-up's shortcuts against the plain definition of a scope (the merge of every
/// series whose labels match it): the fleet, model and ring scopes merged from the
/// model × ring scopes, counters summed once, categories only where drift reads them.
@Suite struct ScopeRollupTests {
    /// Three models × two versions × two rings × three languages: 36 series, 10 cells.
    func shapes() -> [SeriesShape] {
        var shapes: [SeriesShape] = []
        for (m, model) in ["a", "b", "c"].enumerated() {
            for version in ["v1", "v2"] {
                for ring in [DeploymentRing.stable, .canary] where !(model == "c" && ring == .canary && version == "v2") {
                    for (l, lang) in ["en", "de", "fr"].enumerated() {
                        var s = SeriesShape(model: model, version: version, ring: ring, tags: [CohortTag("lang", lang)],
                                            requests: 300 + 50 * l, medianLatency: 200_000 * Double(m + 1))
                        s.categoryOffset = m
                        shapes.append(s)
                    }
                }
            }
        }
        return shapes
    }

    /// The direct roll-up of the series matching `include`: one merge of all their sketches.
    func direct(_ shot: Snapshot, _ include: (SeriesLabels) -> Bool) throws -> ScopeAggregate {
        let members = shot.series.indices.filter { include(shot.series[$0].labels) }
        return try ScopeAggregate(rollingUp: members, of: shot.series, sketches: shot.sketches)
    }

    @Test func fleetModelAndRingScopesMatchTheDirectMerge() throws {
        let shot = snapshot(window: 0, shapes())
        for kinds in [[Scope.Kind.fleet, .model, .ring, .modelRing], [.fleet, .ring], [.model]] {
            let scopes = try ScopeRollup.scopes(of: shot, kinds: kinds, cohortKeys: [])
            // Only the kinds asked for (the model × ring scopes are an intermediate otherwise).
            #expect(Set(scopes.keys.map(\.kind)) == Set(kinds))
            var checked: [(Scope, ScopeAggregate)] = []
            if kinds.contains(.fleet) { checked.append((.fleet, try direct(shot) { _ in true })) }
            if kinds.contains(.model) {
                for model in ["a", "b", "c"] {
                    checked.append((Scope(kind: .model, labels: [.init("model", model)]), try direct(shot) { $0.model == model }))
                }
            }
            if kinds.contains(.ring) {
                for ring in ["stable", "canary"] {
                    checked.append((Scope(kind: .ring, labels: [.init("ring", ring)]), try direct(shot) { $0.ring.name == ring }))
                }
            }
            #expect(checked.count == kinds.filter { $0 != .modelRing }.reduce(0) { $0 + ($1 == .fleet ? 1 : $1 == .model ? 3 : 2) })
            for (scope, expected) in checked {
                let got = try #require(scopes[scope], "\(scope) missing for kinds \(kinds)")
                // Counters and the category histogram are exact sums.
                #expect(got.requests == expected.requests && got.requests > 0)
                #expect(got.statusCounts == expected.statusCounts)
                #expect(got.taskOutcomes == expected.taskOutcomes)
                #expect(got.refusals == expected.refusals && got.feedbackUp == expected.feedbackUp)
                #expect(got.categories == expected.categories && !got.categories.isEmpty)
                #expect(got.users.estimate == expected.users.estimate)
                for (a, b) in [(got.totalLatency, expected.totalLatency), (got.timeToFirstToken, expected.timeToFirstToken),
                               (got.cost, expected.cost), (got.queueTime, expected.queueTime)] {
                    #expect(a.count == b.count && a.min == b.min && a.max == b.max)
                    // Quantiles within the merge error: the rank, in the direct merge, of the value
                    // the extra merge level gives is within 1 % of q (0.3 % in the tail).
                    for (q, tolerance) in [(0.5, 0.01), (0.9, 0.01), (0.99, 0.003)] {
                        let rank = b.cdf(a.quantile(q))
                        #expect(abs(rank - q) <= tolerance, "\(scope) q \(q): rank \(rank)")
                    }
                }
            }
        }
    }

    @Test func cohortScopesCarryCategoriesOnlyWhenAsked() throws {
        let shot = snapshot(window: 0, shapes())
        let with = try ScopeRollup.scopes(of: shot, kinds: [.fleet], cohortKeys: ["lang"], cohortCategories: true)
        let without = try ScopeRollup.scopes(of: shot, kinds: [.fleet], cohortKeys: ["lang"], cohortCategories: false)
        for lang in ["en", "de", "fr"] {
            let scope = Scope(kind: .cohort, labels: [.init("lang", lang)])
            let a = try #require(with[scope]), b = try #require(without[scope])
            let expected = try direct(shot) { $0.tags.contains(CohortTag("lang", lang)) }
            #expect(a.categories == expected.categories && !a.categories.isEmpty)
            #expect(b.categories.isEmpty && b.otherCategories == 0)
            // Everything else is the same.
            #expect(a.requests == b.requests && a.requests == expected.requests)
            #expect(a.statusCounts == b.statusCounts && a.taskOutcomes == b.taskOutcomes)
            #expect(a.totalLatency.quantile(0.9) == b.totalLatency.quantile(0.9))
        }
    }

    /// The same traffic as a collector with `breakdown_keys = ["lang"]` would publish it: a
    /// series per slice (no tags) and a cohort aggregate per slice and language.
    func withCohortAggregates(_ shot: Snapshot) throws -> Snapshot {
        var slices: [SeriesLabels: SnapshotSeries] = [:]
        var cohorts: [SnapshotSeries] = []
        for series in shot.series {
            var slice = series
            slice.labels.tags = []
            if slices[slice.labels] == nil { slices[slice.labels] = slice } else { try slices[slice.labels]!.merge(slice) }
            cohorts.append(series)  // its one tag is lang
        }
        var result = shot
        result.series = slices.values.sorted { $0.labels < $1.labels }
        result.cohorts = cohorts
        return result
    }

    /// Cohort scopes and fairness from cohort aggregates equal those from series tags, and
    /// the other scopes do not count the cohort aggregates.
    @Test func cohortAggregatesRollUpLikeSeriesTags() throws {
        let tagged = snapshot(window: 0, shapes())
        let split = try withCohortAggregates(tagged)
        #expect(split.series.count == 11 && split.cohorts.count == 33 && tagged.series.count == 33)
        let kinds: [Scope.Kind] = [.fleet, .model, .modelRing]
        let a = try ScopeRollup.scopes(of: tagged, kinds: kinds, cohortKeys: ["lang"])
        let b = try ScopeRollup.scopes(of: split, kinds: kinds, cohortKeys: ["lang"])
        #expect(Set(a.keys) == Set(b.keys))
        #expect(b.keys.filter { $0.kind == .cohort }.count == 3)
        for (scope, x) in a {
            let y = try #require(b[scope])
            #expect(x.requests == y.requests && x.statusCounts == y.statusCounts && x.refusals == y.refusals, "\(scope)")
            #expect(x.totalLatency.count == y.totalLatency.count && x.totalLatency.min == y.totalLatency.min
                    && x.totalLatency.max == y.totalLatency.max, "\(scope)")
            for q in [0.5, 0.95, 0.99] {
                let rank = x.totalLatency.cdf(y.totalLatency.quantile(q))
                #expect(abs(rank - q) <= 0.01, "\(scope) q \(q): rank \(rank)")
            }
        }
        #expect(b[.fleet]!.requests == tagged.requests, "the fleet counts series only")
        // The engine's fairness reports agree (same cohorts, same values within the digests' merge error).
        let policy = try testPolicy()
        let reportA = try IndexEngine(policy: policy, collectorID: "t").evaluate(tagged)[0].fairness
        let reportB = try IndexEngine(policy: policy, collectorID: "t").evaluate(split)[0].fairness
        #expect(!reportA.isEmpty && reportA.count == reportB.count)
        for (x, y) in zip(reportA, reportB) {
            #expect(x.key == y.key && x.kpi == y.kpi, "\(x.kpi)")
            // Requests per cohort value are exact; the order (best first) may differ by a quantile's merge error.
            #expect(Dictionary(uniqueKeysWithValues: x.cohorts.map { ($0.value, $0.requests) })
                    == Dictionary(uniqueKeysWithValues: y.cohorts.map { ($0.value, $0.requests) }), "\(x.kpi)")
        }
    }

    /// Cohort aggregates whose queue and token distributions are summaries (tallyd's default
    /// `cohort_distributions`): cohort scopes leave those digests empty and the engine does
    /// not judge queue_p95 there (light none, no value), while latency and the other scopes
    /// are what they were.
    @Test func summarizedCohortDistributionsAreNotJudgedInCohortScopes() throws {
        let full = try withCohortAggregates(snapshot(window: 0, shapes()))
        var lean = full
        lean.cohortSummaries = [.queueTime, .inputTokens, .outputTokens]
        for i in lean.cohorts.indices { lean.cohortSummaries.apply(to: &lean.cohorts[i].aggregate) }
        let kinds: [Scope.Kind] = [.fleet, .model]
        let a = try ScopeRollup.scopes(of: full, kinds: kinds, cohortKeys: ["lang"])
        let b = try ScopeRollup.scopes(of: lean, kinds: kinds, cohortKeys: ["lang"])
        #expect(Set(a.keys) == Set(b.keys) && b.keys.filter { $0.kind == .cohort }.count == 3)
        for (scope, x) in b {
            let y = try #require(a[scope])
            #expect(x.requests == y.requests && x.totalLatency.quantile(0.95) == y.totalLatency.quantile(0.95), "\(scope)")
            if scope.kind == .cohort {
                #expect(x.queueTime.isEmpty && x.inputTokens.isEmpty && !y.queueTime.isEmpty && !y.inputTokens.isEmpty, "\(scope)")
            } else {
                #expect(x.queueTime.quantile(0.95) == y.queueTime.quantile(0.95), "\(scope)")
            }
        }
        let policy = try testPolicy()
        let judged = IndexEngine(policy: policy, collectorID: "t")
        let before = try IndexEngine(policy: policy, collectorID: "t").evaluate(full)[0]
        let after = try judged.evaluate(lean)[0]
        #expect(judged.summarizedInCohorts == [.queueTime, .inputTokens, .outputTokens])
        func report(_ document: IndexDocument, _ scope: String, _ kpi: KPI) throws -> IndexDocument.KPIReport {
            try #require(document.scopes.first { $0.scope == scope }?.kpis.first { $0.kpi == kpi }, "\(scope) \(kpi)")
        }
        for lang in ["en", "de", "fr"] {
            let queueBefore = try report(before, "lang=\(lang)", .queueP95), queueAfter = try report(after, "lang=\(lang)", .queueP95)
            #expect([Light.green, .yellow, .red].contains(queueBefore.light) && queueBefore.value != nil)
            #expect(queueAfter.light == Light.none && queueAfter.value == nil)
            #expect(try report(after, "lang=\(lang)", .latencyP95) == report(before, "lang=\(lang)", .latencyP95))
        }
        #expect(try report(after, "fleet", .queueP95) == report(before, "fleet", .queueP95))
    }

    @Test func theEngineKeepsCohortCategoriesWhenDriftReadsCohorts() throws {
        var policy = try testPolicy()
        policy.drift.scopeKinds = [.fleet, .cohort]
        let engine = IndexEngine(policy: policy, collectorID: "t")
        let documents = try (0..<7).map { try engine.evaluate(snapshot(window: $0, shapes())) }
        // Past the 5-window baseline: cohort scopes are judged on their category mix too.
        let cohortDrift = documents[6][0].drift.filter { $0.scope.hasPrefix("lang=") }
        #expect(!cohortDrift.isEmpty)
        #expect(cohortDrift.allSatisfy { $0.categorical != nil })
    }
}
