import TallySynthetic
import TallyWire
import Testing

/// The fleet's configurable outcome mix: refusal, escalation, task success, feedback,
/// safety severity weights and categories, on 20,000 seeded frames.
@Suite struct OutcomeMixTests {
    @Test func theOutcomeRatesFollowTheFields() {
        var fleet = SyntheticFleet(tenants: 20, users: 5_000)
        fleet.refusalRate = 0.2
        fleet.escalationRate = 0.1
        fleet.taskSuccessRate = 0.5
        fleet.feedbackRate = 0.5
        fleet.feedbackUpShare = 0.25
        fleet.categoryCount = 7
        let frames = ScenarioTests.frames(fleet, elapsedSeconds: nil).map { $0! }
        let n = ScenarioTests.count
        ScenarioTests.expectShare(ScenarioTests.share(frames) { $0.outcome.refusal }, near: 0.2, n: n)
        ScenarioTests.expectShare(ScenarioTests.share(frames) { $0.outcome.escalation }, near: 0.1, n: n)
        let ok = frames.filter { $0.status == .ok }
        ScenarioTests.expectShare(ScenarioTests.share(ok) { $0.outcome.task == .success }, near: 0.5, n: ok.count)
        #expect(frames.allSatisfy { $0.status == .ok || $0.outcome.task == .failure })
        let rated = frames.filter { $0.outcome.feedback != Feedback.none }
        ScenarioTests.expectShare(Double(rated.count) / Double(n), near: 0.5, n: n)
        ScenarioTests.expectShare(ScenarioTests.share(rated) { $0.outcome.feedback == .up }, near: 0.25, n: rated.count)
        #expect(Set(frames.compactMap(\.categoryID)) == Set(0..<7))
    }

    @Test func severityWeightsWithoutCriticalDrawNoCriticalIncident() {
        var fleet = SyntheticFleet(tenants: 20, users: 5_000)
        fleet.safetyRate = 1
        fleet.safetySeverityWeights = [6, 3, 1, 0]
        let frames = ScenarioTests.frames(fleet, elapsedSeconds: nil).map { $0! }
        let n = ScenarioTests.count
        #expect(!frames.contains { $0.safetySeverity == .critical || $0.safetyKinds.isEmpty })
        ScenarioTests.expectShare(ScenarioTests.share(frames) { $0.safetySeverity == .low }, near: 0.6, n: n)
        ScenarioTests.expectShare(ScenarioTests.share(frames) { $0.safetySeverity == .medium }, near: 0.3, n: n)
        ScenarioTests.expectShare(ScenarioTests.share(frames) { $0.safetySeverity == .high }, near: 0.1, n: n)
        // The default weights are uniform.
        fleet.safetySeverityWeights = SyntheticFleet().safetySeverityWeights
        let uniform = ScenarioTests.frames(fleet, elapsedSeconds: nil).map { $0! }
        ScenarioTests.expectShare(ScenarioTests.share(uniform) { $0.safetySeverity == .critical }, near: 0.25, n: n)
    }

    @Test func aSeedGivesTheSameFrames() {
        let fleet = SyntheticFleet(tenants: 20, users: 5_000)
        #expect(ScenarioTests.frames(fleet, elapsedSeconds: nil, count: 1_000)
                == ScenarioTests.frames(fleet, elapsedSeconds: nil, count: 1_000))
        #expect(ScenarioTests.frames(fleet, elapsedSeconds: 3, count: 1_000)
                == ScenarioTests.frames(fleet, elapsedSeconds: nil, count: 1_000))
    }
}
