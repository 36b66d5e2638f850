import Testing
@testable import TallyIndex

/// The alert state machine and the burn-rate arithmetic.
@Suite struct AlertTests {
    func observation(_ breach: Bool?, key: String = "kpi:error_rate") -> AlertBook.Observation {
        .init(breach: breach,
              alert: Alert(fingerprint: "", name: key, scope: "model=m", state: "", severity: "page", value: 0.1,
                           threshold: 0.05, light: breach == true ? .red : .green, owner: "o", action: "a", summary: "s",
                           startsAtMicros: 0, endsAtMicros: nil),
              firingAfter: 2, resolvedAfter: 3)
    }

    @Test func anAlertFiresOnceAfterItsPersistenceAndResolvesAfterItsRecovery() {
        var book = AlertBook()
        var states: [String] = []
        let pattern: [Bool?] = [true, true, true, true, nil, false, false, true, false, false, false, false]
        var fingerprints = Set<String>()
        for (i, breach) in pattern.enumerated() {
            let events = book.observe([observation(breach)], windowStartMicros: UInt64(i) * 10, windowEndMicros: UInt64(i + 1) * 10)
            states += events.map(\.state)
            fingerprints.formUnion(events.map(\.alert.fingerprint))
            if let firing = events.first(where: { $0.state == "firing" }) { #expect(firing.alert.startsAtMicros == 0) }
        }
        // pending at 0, firing at 1 (two breaching windows), nothing while it keeps breaching or
        // lacks data, the healthy count restarts at the breach at 7, resolved after three more healthy.
        #expect(states == ["pending", "firing", "resolved"])
        #expect(fingerprints == [Alert.fingerprint("kpi:error_rate|model=m")])
        #expect(book.open.isEmpty)
    }

    @Test func aBreachThatDoesNotPersistIsClearedNotFired() {
        var book = AlertBook()
        let first = book.observe([observation(true)], windowStartMicros: 0, windowEndMicros: 10)
        let second = book.observe([observation(false)], windowStartMicros: 10, windowEndMicros: 20)
        #expect(first.map(\.state) == ["pending"])
        #expect(second.map(\.state) == ["cleared"])
        #expect(second.first?.alert.state == "cleared")
    }

    @Test func fingerprintsAreFNV1aOfTheKey() {
        // FNV-1a 64 of the empty string is its offset basis; of "a" a published test vector.
        #expect(Alert.fingerprint("") == "cbf29ce484222325")
        #expect(Alert.fingerprint("a") == "af63dc4c8601ec8c")
    }

    @Test func burnRatesAreTheBadShareOverTheBudgetOverEachSpan() {
        var tracker = BurnRateTracker(spans: [3, 5])
        let windows: [(bad: UInt64, total: UInt64)] = [(0, 100), (10, 100), (0, 100), (50, 200), (5, 100), (1, 100)]
        for w in windows { tracker.add(bad: w.bad, total: w.total) }
        // Last 3: (50 + 5 + 1) / (200 + 100 + 100) = 0.14; last 5: 66 / 600 = 0.11.
        #expect(abs(tracker.badShare(span: 3)! - 56.0 / 400) < 1e-12)
        #expect(abs(tracker.badShare(span: 5)! - 66.0 / 600) < 1e-12)
        // A 99.5 % objective leaves a 0.5 % budget: burn = share / 0.005.
        #expect(abs(tracker.burnRate(span: 3, objective: 0.995)! - (56.0 / 400) / 0.005) < 1e-9)
        var empty = BurnRateTracker(spans: [2])
        empty.add(bad: 0, total: 0)
        #expect(empty.burnRate(span: 2, objective: 0.99) == nil)
    }
}
