import Testing
import TallyCore
@testable import TallyIndex
import TallyWire

/// Canary verdicts on rare events in small rings (a short window, a fresh canary):
/// the one-sided test is Fisher's exact one there, so noise is not a roll-back.
@Suite struct CanarySmallCountTests {
    func ring(requests: UInt64, errors: UInt64) -> ScopeAggregate {
        var a = ScopeAggregate(sketches: SketchParameters())
        a.requests = requests
        a.statusCounts[Int(RequestStatus.error.rawValue)] = errors
        a.statusCounts[Int(RequestStatus.ok.rawValue)] = requests - errors
        return a
    }

    /// 4 errors of 100 canary requests against 0 of 400 stable: 4 points worse, beyond
    /// the 1-point tolerance. The z-test's one-sided p is 3·10⁻⁵, below 0.001 ÷ 6; all
    /// four errors landing in the canary has exact probability 1.5·10⁻³ under equal
    /// rates, so the verdict holds instead of rolling back.
    @Test func fourErrorsOfAHundredAgainstNoneHold() {
        let settings = Policy.CanarySettings()
        let verdict = CanaryEvaluator.verdict(model: "m", stable: ring(requests: 400, errors: 0),
                                              canary: ring(requests: 100, errors: 4), stableVersions: ["v1"],
                                              canaryVersions: ["v2"], settings: settings)
        let errors = verdict.kpis.first { $0.kpi == .errorRate }
        #expect(abs((errors?.pValue ?? 0) - 0.001_523_971) < 1e-8)
        #expect(errors?.suspect == true && errors?.regression == false)
        #expect(verdict.verdict == .hold, "\(verdict.reason)")
    }

    /// A real regression at the same ring sizes is still a roll-back: 12 of 100 against 0 of 400.
    @Test func aRealRegressionInSmallRingsRollsBack() {
        let verdict = CanaryEvaluator.verdict(model: "m", stable: ring(requests: 400, errors: 0),
                                              canary: ring(requests: 100, errors: 12), stableVersions: ["v1"],
                                              canaryVersions: ["v2"], settings: Policy.CanarySettings())
        #expect(verdict.verdict == .rollBack, "\(verdict.reason)")
        #expect(verdict.decidedBy == [.errorRate])
    }
}
