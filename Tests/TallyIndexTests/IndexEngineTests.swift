import Testing
import TallyCore
@testable import TallyIndex
import TallyTestSupport
import TallyWire

/// The engine over sequences of synthetic windows: the right alert for the right
/// scope, once, and its recovery; canary verdicts; fairness gaps; drift; no_data;
/// and silence over clean traffic.
@Suite struct IndexEngineTests {
    /// Two models, stable and canary rings, two languages.
    func fleet(canary: SeriesShape? = nil, deRefusals: Double = 0.01, silenceModelB: Bool = false,
               latencyScale: Double = 1, categoryOffset: Int = 0) -> [SeriesShape] {
        var shapes: [SeriesShape] = []
        for model in ["a", "b"] where !(silenceModelB && model == "b") {
            for lang in ["en", "de"] {
                var s = SeriesShape(model: model, tags: [CohortTag("lang", lang)], requests: 800,
                                    medianLatency: 400_000 * latencyScale)
                s.categoryOffset = categoryOffset
                if lang == "de" { s.refusalRate = deRefusals }
                shapes.append(s)
                var c = canary ?? s
                c.model = model
                c.tags = s.tags
                c.ring = .canary
                c.requests = 300
                c.refusalRate = s.refusalRate
                if canary == nil || model == "b" { c = s; c.ring = .canary; c.requests = 300 }
                shapes.append(c)
            }
        }
        return shapes
    }

    func run(_ engine: IndexEngine, windows: Range<Int>, _ shapes: (Int) -> [SeriesShape]) throws -> [[IndexDocument]] {
        try windows.map { try engine.evaluate(snapshot(window: $0, shapes($0))) }
    }

    @Test func cleanTrafficRaisesNoAlertAtAll() throws {
        let engine = IndexEngine(policy: try testPolicy(), collectorID: "t")
        let documents = try run(engine, windows: 0..<60) { _ in fleet() }
        let events = documents.flatMap { $0[0].alerts.events }.filter { $0.state == "firing" }
        #expect(events.isEmpty, "\(events.map { "\($0.alert.name) \($0.alert.scope): \($0.alert.summary)" })")
        let last = try #require(documents.last?.first)
        // A healthy canary is promoted, window after window (no flicker into roll_back).
        let verdicts = documents.flatMap { $0[0].canary.map(\.verdict) }
        #expect(verdicts.filter { $0 == .rollBack }.isEmpty, "\(documents.flatMap { $0[0].canary.filter { $0.verdict == .rollBack }.map(\.reason) })")
        #expect(Double(verdicts.filter { $0 == .promote }.count) >= 0.9 * Double(verdicts.count))
        #expect(last.executive.overall != .red)
    }

    @Test func aCanaryRegressionFiresOnceForTheCanaryAndItsVerdictIsRollBack() throws {
        let engine = IndexEngine(policy: try testPolicy(), collectorID: "t")
        var bad = SeriesShape(medianLatency: 2_000_000, errorRate: 0.08)  // p95 ≈ 4.6 s: red
        bad.requests = 300
        let documents = try run(engine, windows: 0..<20) { w in (5..<12).contains(w) ? fleet(canary: bad) : fleet() }
        let events = documents.enumerated().flatMap { w, d in d[0].alerts.events.map { (w, $0) } }
        let fired = events.filter { $0.1.state == "firing" }
        let canaryLatency = fired.filter { $0.1.alert.name == "kpi:latency_p95" && $0.1.alert.scope == "model=a,ring=canary" }
        #expect(canaryLatency.count == 1)
        #expect(canaryLatency.first.map { $0.0 - 5 } ?? 99 <= 1, "detected within 2 windows of onset")
        #expect(fired.contains { $0.1.alert.name == "canary:roll_back" && $0.1.alert.scope == "model=a,ring=canary" })
        #expect(!fired.contains { $0.1.alert.scope.contains("model=b") }, "\(fired.map(\.1.alert.key))")
        let verdict = try #require(documents[8][0].canary.first { $0.model == "a" })
        #expect(verdict.verdict == .rollBack)
        #expect(verdict.decidedBy.contains(.latencyP95) && verdict.decidedBy.contains(.errorRate))
        #expect(documents[8][0].canary.first { $0.model == "b" }?.verdict == .promote)
        // Recovery: every alert that fired resolves within the policy's 3 healthy windows.
        let resolved = events.filter { $0.1.state == "resolved" }
        for (_, firing) in fired {
            let end = resolved.first { $0.1.alert.key == firing.alert.key }
            #expect(end != nil && end!.0 >= 12 && end!.0 <= 12 + 3, "\(firing.alert.key) resolved at \(end?.0 ?? -1)")
        }
        #expect(engine.openAlerts.filter { $0.state == "firing" }.isEmpty)
    }

    @Test func aCohortGapIsRedSignificantAndNamesTheWorstCohort() throws {
        let engine = IndexEngine(policy: try testPolicy(), collectorID: "t")
        let documents = try run(engine, windows: 0..<4) { _ in fleet(deRefusals: 0.12) }
        let gap = try #require(documents[3][0].fairness.first { $0.key == "lang" && $0.kpi == .refusalRate })
        #expect(gap.worst == "de" && gap.best == "en")
        #expect(gap.significant && gap.light == .red)
        #expect((gap.gap ?? 0) > 0.08 && (gap.gap ?? 1) < 0.14)
        let fired = documents.flatMap { $0[0].alerts.events }.filter { $0.state == "firing" }.map(\.alert.key)
        #expect(fired.contains("fairness:refusal_rate|lang"))
        // Equal cohorts: no significant gap.
        let clean = IndexEngine(policy: try testPolicy(), collectorID: "t")
        let even = try run(clean, windows: 0..<2) { _ in fleet() }
        #expect(even[1][0].fairness.filter { $0.light == .red }.isEmpty)
    }

    @Test func aModelThatStopsReportingRaisesNoDataAndResolvesWhenItComesBack() throws {
        let engine = IndexEngine(policy: try testPolicy(), collectorID: "t")
        let documents = try run(engine, windows: 0..<16) { w in fleet(silenceModelB: (6..<10).contains(w)) }
        let events = documents.enumerated().flatMap { w, d in d[0].alerts.events.map { (w, $0) } }
            .filter { $0.1.alert.name == "no_data" && $0.1.alert.scope == "model=b" }
        #expect(events.map(\.1.state) == ["firing", "resolved"], "\(events.map { ($0.0, $0.1.state) })")
        #expect(events.first?.0 == 7)  // the second missing window (no_data_after_windows = 2)
        #expect(events.last?.0 == 10)
    }

    /// A model that stops a few milliseconds into a window reports a handful of requests
    /// in it (below `no_data_min_requests`), then nothing: the outage is still raised, on
    /// the strength of the full windows before the partial one (the scenario test missed
    /// it once when its load happened to start just after a window boundary).
    @Test func aModelThatStopsMidWindowStillRaisesNoData() throws {
        let engine = IndexEngine(policy: try testPolicy(), collectorID: "t")
        let documents = try run(engine, windows: 0..<16) { w in
            if (7..<11).contains(w) { return fleet(silenceModelB: true) }
            guard w == 6 else { return fleet() }
            return fleet().map { shape in
                var s = shape
                if s.model == "b" { s.requests = 2 }
                return s
            }
        }
        let events = documents.enumerated().flatMap { w, d in d[0].alerts.events.map { (w, $0) } }
            .filter { $0.1.alert.name == "no_data" && $0.1.alert.scope == "model=b" }
        #expect(events.map(\.1.state) == ["firing", "resolved"], "\(events.map { ($0.0, $0.1.state) })")
        #expect(events.first?.0 == 8)  // the second missing window after the partial one
        #expect(events.last?.0 == 11, "\(events.map { ($0.0, $0.1.state) })")
    }

    @Test func driftAgainstTheFrozenBaselineIsRedOnlyWhenTheDistributionMoves() throws {
        let engine = IndexEngine(policy: try testPolicy(), collectorID: "t")
        let documents = try run(engine, windows: 0..<12) { w in
            w < 8 ? fleet() : fleet(latencyScale: 2, categoryOffset: 4)
        }
        let before = try #require(documents[7][0].drift.first { $0.scope == "fleet" })
        #expect(before.light == .green, "\(before)")
        let after = try #require(documents[9][0].drift.first { $0.scope == "fleet" })
        let latency = try #require(after.numeric.first { $0.metric == "latency" })
        #expect(latency.light == .red && latency.ks > latency.ksNoiseFloor && latency.psi > 0.25)
        #expect(after.categorical?.light == .red)
    }

    @Test func spansMergeTheirWindowsExactlyForCounters() throws {
        let engine = IndexEngine(policy: try testPolicy(), collectorID: "t")
        let documents = try run(engine, windows: 0..<7) { _ in fleet() }
        let span = try #require(documents[6].first { $0.span == "10s" })
        let perWindow = documents.map { $0[0].executive.requests }
        #expect(span.windows == 7)
        #expect(span.executive.requests == perWindow.reduce(0, +))
    }

    /// After an upgrade, the spans hold windows written at p = 12 beside new ones at p = 14:
    /// they still evaluate, their users union at p = 12.
    @Test func spansMergeWindowsOfDifferentHyperLogLogPrecisions() throws {
        let engine = IndexEngine(policy: try testPolicy(), collectorID: "t")
        var documents: [[IndexDocument]] = []
        for window in 0..<8 {
            var shot = snapshot(window: window, fleet())
            if window < 4 {
                shot.sketches.hllPrecision = 12
                for i in shot.series.indices {
                    shot.series[i].aggregate.users = shot.series[i].aggregate.users.reduced(toPrecision: 12)
                    shot.series[i].aggregate.sessions = shot.series[i].aggregate.sessions.reduced(toPrecision: 12)
                }
            }
            documents.append(try engine.evaluate(shot))
        }
        let span = try #require(documents[7].first { $0.span == "10s" })
        #expect(span.windows == 8)
        let users = try #require(span.scopes.first { $0.kind == "fleet" }?.kpis.first { $0.kpi == .distinctUsers }?.value)
        // 5,000 user ids drawn ~17,600 times a window: all of them, within p = 12's error.
        #expect(abs(users / 5_000 - 1) < 0.05, "\(users)")
    }

    @Test func windowsOutOfOrderAreRefused() throws {
        let engine = IndexEngine(policy: try testPolicy(), collectorID: "t")
        _ = try engine.evaluate(snapshot(window: 5, fleet()))
        #expect(throws: IndexError.self) { try engine.evaluate(snapshot(window: 4, fleet())) }
    }

    @Test func theRollUpAddsUpToTheFleetAndPartitionsCohorts() throws {
        let shot = snapshot(window: 0, fleet())
        let scopes = try ScopeRollup.scopes(of: shot, kinds: [.fleet, .model, .modelRing], cohortKeys: ["lang"])
        let total = shot.series.reduce(0) { $0 + $1.aggregate.requests }
        #expect(scopes[.fleet]?.requests == total)
        let models = scopes.filter { $0.key.kind == .model }.values.reduce(0) { $0 + $1.requests }
        let langs = scopes.filter { $0.key.kind == .cohort }.values.reduce(0) { $0 + $1.requests }
        #expect(models == total && langs == total)
        #expect(scopes[.fleet]?.totalLatency.count == total)
    }
}
