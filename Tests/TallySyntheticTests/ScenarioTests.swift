import TallySynthetic
import TallyWire
import Testing

/// Scenarios in the synthetic fleet: scope, time range and each kind of effect, on
/// 20,000 seeded frames. Shares are checked against their expected value within four
/// standard errors of a binomial share (a seeded run is deterministic; the bound says
/// how far the chosen seed may sit from the expectation).
@Suite struct ScenarioTests {
    static let count = 20_000
    static let seed: UInt64 = 42
    static let bigModel = "llama-3.1-70b-instruct"

    /// `count` frames drawn `elapsedSeconds` into the run (`nil`: the clean ``SyntheticFleet/frame(eventTimeMicros:_:)``);
    /// silenced frames are `nil`.
    static func frames(_ fleet: SyntheticFleet, elapsedSeconds: Double?, count: Int = count) -> [TraceFrame?] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { i in
            let time = 1_763_700_000_000_000 + UInt64(i)
            guard let elapsedSeconds else { return fleet.frame(eventTimeMicros: time, &rng) }
            return fleet.frame(eventTimeMicros: time, elapsedSeconds: elapsedSeconds, &rng)
        }
    }

    /// Expects `share` within four standard errors of `expected` over `n` draws.
    static func expectShare(_ share: Double, near expected: Double, n: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let tolerance = 4 * (expected * (1 - expected) / Double(n)).squareRoot()
        #expect(abs(share - expected) <= tolerance, "share \(share), expected \(expected) ± \(tolerance)",
                sourceLocation: sourceLocation)
    }

    static func share(_ frames: [TraceFrame], _ predicate: (TraceFrame) -> Bool) -> Double {
        Double(frames.count(where: predicate)) / Double(max(frames.count, 1))
    }

    static func median(_ values: [UInt32]) -> Double {
        let sorted = values.sorted()
        return Double(sorted[sorted.count / 2])
    }

    static func fleet(_ scenario: Scenario) -> SyntheticFleet {
        var fleet = SyntheticFleet(tenants: 20, users: 5_000)
        fleet.scenarios = [scenario]
        return fleet
    }

    /// A fleet with one always-on, fleet-wide scenario of `effects`; its clean frames and
    /// its frames while the scenario is on (none silenced).
    static func cleanAndDuring(_ effects: Scenario.Effects) -> (fleet: SyntheticFleet, clean: [TraceFrame], during: [TraceFrame]) {
        let fleet = fleet(Scenario(name: "everywhere", effects: effects))
        return (fleet, frames(fleet, elapsedSeconds: nil).map { $0! }, frames(fleet, elapsedSeconds: 1).map { $0! })
    }

    @Test func latencyTimesThreeOnOneModelsCanaryTriplesItsMedianAndLeavesTheRestAlone() throws {
        var fleet = Self.fleet(Scenario(name: "canary-latency", startSeconds: 10, endSeconds: 20,
                                        scope: .init(model: Self.bigModel, ring: .canary),
                                        effects: { var e = Scenario.Effects(); e.latencyMultiplier = 3; return e }()))
        fleet.canaryShare = 0.5  // ~2,500 frames in the scope
        let clean = Self.frames(fleet, elapsedSeconds: nil).map { $0! }
        let during = Self.frames(fleet, elapsedSeconds: 15).map { $0! }
        let inScope = clean.indices.filter { clean[$0].model == Self.bigModel && clean[$0].ring == .canary }
        #expect(inScope.count > 2_000)
        let ratio = Self.median(inScope.map { during[$0].totalLatencyMicros }) / Self.median(inScope.map { clean[$0].totalLatencyMicros })
        // Latency draws no extra values, so the frames line up: the ratio is 3 up to rounding
        // to whole microseconds (medians of ~1 s); two independent samples would need ±4·1.25·σ/√n ≈ ±6 %.
        #expect(abs(ratio - 3) < 0.01, "median ratio \(ratio)")
        let ttftRatio = Self.median(inScope.compactMap { during[$0].timeToFirstTokenMicros })
            / Self.median(inScope.compactMap { clean[$0].timeToFirstTokenMicros })
        #expect(abs(ttftRatio - 3) < 0.05, "TTFT median ratio \(ttftRatio)")
        // Out of the scope: the very same frames.
        let outOfScope = Set(clean.indices).subtracting(inScope)
        #expect(outOfScope.allSatisfy { clean[$0] == during[$0] })
        // Out of the time range (before, at the end, after): the clean fleet.
        for elapsed in [0, 9.999, 20, 25] {
            #expect(Self.frames(fleet, elapsedSeconds: elapsed, count: 2_000).map { $0! } == Array(clean.prefix(2_000)))
        }
    }

    @Test func errorTimesEightGivesEightTimesTheErrorShare() {
        var effects = Scenario.Effects()
        effects.errorMultiplier = 8
        let (fleet, clean, during) = Self.cleanAndDuring(effects)
        Self.expectShare(Self.share(clean) { $0.status == .error }, near: fleet.errorRate, n: Self.count)
        Self.expectShare(Self.share(during) { $0.status == .error }, near: fleet.errorRate * 8, n: Self.count)
        Self.expectShare(Self.share(during) { $0.status == .timeout }, near: fleet.timeoutRate, n: Self.count)
        // Failed requests carry no TTFT and no output, as in the clean fleet.
        #expect(during.allSatisfy { $0.status == .ok || ($0.timeToFirstTokenMicros == nil && $0.outputTokens == 0) })
    }

    @Test func multipliedRatesAreClampedToOne() {
        var effects = Scenario.Effects()
        effects.errorMultiplier = 1_000
        effects.timeoutMultiplier = 1_000
        let during = Self.frames(Self.fleet(Scenario(name: "down", effects: effects)), elapsedSeconds: 0, count: 2_000)
        #expect(during.allSatisfy { $0?.status == .error })
    }

    @Test func silenceSkipsTheFramesInItsScope() {
        var effects = Scenario.Effects()
        effects.silence = true
        let fleet = Self.fleet(Scenario(name: "no-code", startSeconds: 5, scope: .init(route: "code"), effects: effects))
        let during = Self.frames(fleet, elapsedSeconds: 5)
        let produced = during.compactMap { $0 }
        #expect(!produced.contains { $0.route == "code" })
        Self.expectShare(Double(during.count - produced.count) / Double(Self.count), near: 1 / Double(fleet.routes.count),
                         n: Self.count)
        #expect(Self.frames(fleet, elapsedSeconds: 4.9, count: 2_000).allSatisfy { $0 != nil })
    }

    @Test func categoryShiftMovesItsShareToNewIDs() {
        var effects = Scenario.Effects()
        effects.categoryShift = 0.3
        let (fleet, clean, during) = Self.cleanAndDuring(effects)
        let count = UInt16(fleet.categoryCount)
        #expect(clean.allSatisfy { $0.categoryID! < count })
        Self.expectShare(Self.share(during) { $0.categoryID! >= count }, near: 0.3, n: Self.count)
        let newIDs = Set(during.compactMap(\.categoryID).filter { $0 >= count })
        #expect(newIDs == Set(count..<count + UInt16(Scenario.shiftedCategoryCount)))
    }

    @Test func aTagScopeMatchesOnlyThatTagValue() {
        var effects = Scenario.Effects()
        effects.categoryShift = 1  // every matching frame, so the scope shows exactly
        let fleet = Self.fleet(Scenario(name: "german", scope: .init(tag: CohortTag("lang", "de")), effects: effects))
        let during = Self.frames(fleet, elapsedSeconds: 0).map { $0! }
        let german = during.filter { $0.tags.contains(CohortTag("lang", "de")) }
        #expect(german.count > 2_000 && german.count < during.count / 2)
        for frame in during {
            #expect((frame.categoryID! >= UInt16(fleet.categoryCount)) == frame.tags.contains(CohortTag("lang", "de")))
        }
    }

    @Test func overlappingScenariosCombineAndReportWhichMatched() {
        var slow = Scenario.Effects(), slower = Scenario.Effects()
        slow.latencyMultiplier = 2
        slower.latencyMultiplier = 1.5
        slower.safetySeverity = .critical
        var fleet = SyntheticFleet(tenants: 5, users: 100)
        fleet.scenarios = [Scenario(name: "a", startSeconds: 0, endSeconds: 10, effects: slow),
                           Scenario(name: "b", startSeconds: 5, scope: .init(ring: .stable), effects: slower)]
        var rng = SplitMix64(seed: 1)
        var frame = fleet.frame(eventTimeMicros: 0, &rng)
        frame.ring = .stable
        #expect(fleet.scenarioEffects(for: frame, elapsedSeconds: 1).matched == 0b01)
        let both = fleet.scenarioEffects(for: frame, elapsedSeconds: 7)
        #expect(both.matched == 0b11)
        #expect(both.effects.latencyMultiplier == 3)
        #expect(both.effects.safetySeverity == .critical)
        #expect(fleet.scenarioEffects(for: frame, elapsedSeconds: 10).matched == 0b10)
        frame.ring = .canary
        #expect(fleet.scenarioEffects(for: frame, elapsedSeconds: 10).matched == 0)
        #expect(fleet.hasActiveScenario(atSecond: 4) && !fleet.hasActiveScenario(atSecond: -1))
        #expect(fleet.scenarios[1].summary == "(ring=stable: latency ×1.5, safety severity critical)")
    }

    @Test func aForcedSeverityAppliesToEveryInjectedIncident() {
        var effects = Scenario.Effects()
        effects.safetyMultiplier = 100  // 0.2 of the frames
        effects.safetySeverity = .critical
        let during = Self.cleanAndDuring(effects).during
        let incidents = during.filter { !$0.safetyKinds.isEmpty }
        Self.expectShare(Double(incidents.count) / Double(Self.count), near: 0.2, n: Self.count)
        #expect(incidents.allSatisfy { $0.safetySeverity == .critical })
    }
}
