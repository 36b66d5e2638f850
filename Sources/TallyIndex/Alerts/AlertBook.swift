/// The alert state machines, one per key (alert name + scope):
///
/// inactive → pending on the first breaching observation → firing after
/// `firingAfter` consecutive breaching observations → resolved after `resolvedAfter`
/// consecutive healthy ones. A pending alert seen healthy is cleared. An observation
/// without a judgement (insufficient data) holds the state. A firing alert whose key
/// is not observed for `staleAfter` windows resolves (its scope stopped reporting;
/// the `no_data` alert says so). Every transition is an ``AlertEvent``; a firing
/// alert keeps its fingerprint and start until it resolves, so it pages once.
public struct AlertBook: Sendable {
    public struct Observation: Sendable {
        /// nil: no judgement this window (insufficient data).
        public var breach: Bool?
        public var alert: Alert
        public var firingAfter: Int
        public var resolvedAfter: Int
        public init(breach: Bool?, alert: Alert, firingAfter: Int, resolvedAfter: Int) {
            self.breach = breach
            self.alert = alert
            self.firingAfter = firingAfter
            self.resolvedAfter = resolvedAfter
        }
    }

    private struct Tracker: Sendable {
        var alert: Alert
        var breaching = 0
        var healthy = 0
        var unobserved = 0
        var resolvedAfter: Int
    }

    private var trackers: [String: Tracker] = [:]
    public let staleAfter: Int

    public init(staleAfter: Int = 30) { self.staleAfter = staleAfter }

    /// Open alerts (pending and firing), sorted by key.
    public var open: [Alert] { trackers.values.map(\.alert).sorted { $0.key < $1.key } }
    public var firing: [Alert] { open.filter { $0.state == "firing" } }

    /// Applies one window's observations (at most one per key); keys not observed age.
    /// - Returns: the transitions, in key order.
    public mutating func observe(_ observations: [Observation], windowStartMicros: UInt64,
                                 windowEndMicros: UInt64) -> [AlertEvent] {
        var events: [AlertEvent] = []
        var seen = Set<String>()
        for o in observations.sorted(by: { $0.alert.key < $1.alert.key }) {
            let key = o.alert.key
            guard seen.insert(key).inserted else { continue }
            var alert = o.alert
            alert.fingerprint = Alert.fingerprint(key)
            guard var t = trackers[key] else {
                guard o.breach == true else { continue }
                alert.state = "pending"
                alert.startsAtMicros = windowStartMicros
                var t = Tracker(alert: alert, breaching: 1, resolvedAfter: o.resolvedAfter)
                if o.firingAfter <= 1 {
                    t.alert.state = "firing"
                    events.append(AlertEvent(state: "firing", alert: t.alert, atMicros: windowEndMicros))
                } else {
                    events.append(AlertEvent(state: "pending", alert: t.alert, atMicros: windowEndMicros))
                }
                trackers[key] = t
                continue
            }
            t.unobserved = 0
            t.resolvedAfter = o.resolvedAfter
            switch o.breach {
            case true?:
                t.breaching += 1
                t.healthy = 0
                alert.state = t.alert.state
                alert.startsAtMicros = t.alert.startsAtMicros
                t.alert = alert
                if t.alert.state == "pending" && t.breaching >= o.firingAfter {
                    t.alert.state = "firing"
                    events.append(AlertEvent(state: "firing", alert: t.alert, atMicros: windowEndMicros))
                }
                trackers[key] = t
            case false?:
                t.healthy += 1
                if t.alert.state == "pending" {
                    trackers[key] = nil
                    var cleared = t.alert
                    cleared.state = "cleared"
                    events.append(AlertEvent(state: "cleared", alert: cleared, atMicros: windowEndMicros))
                } else if t.healthy >= t.resolvedAfter {
                    trackers[key] = nil
                    events.append(resolved(t.alert, at: windowEndMicros, now: alert))
                } else {
                    trackers[key] = t
                }
            case nil:
                trackers[key] = t
            }
        }
        for (key, var t) in trackers where !seen.contains(key) {
            t.unobserved += 1
            if t.unobserved >= staleAfter || (t.alert.state == "pending" && t.unobserved >= 1) {
                trackers[key] = nil
                var cleared = t.alert
                cleared.state = "cleared"
                events.append(t.alert.state == "pending"
                              ? AlertEvent(state: "cleared", alert: cleared, atMicros: windowEndMicros)
                              : resolved(t.alert, at: windowEndMicros, now: nil))
            } else {
                trackers[key] = t
            }
        }
        return events.sorted { ($0.alert.key, $0.state) < ($1.alert.key, $1.state) }
    }

    /// The final event of `alert`: its identity and start, with the healthy observation's
    /// value, light and summary (`now`; nil when its scope stopped reporting).
    private func resolved(_ alert: Alert, at micros: UInt64, now: Alert?) -> AlertEvent {
        var done = alert
        done.state = "resolved"
        done.endsAtMicros = micros
        done.value = now?.value
        done.light = now?.light ?? .insufficientData
        done.summary = now?.summary ?? "\(alert.scope) stopped reporting"
        return AlertEvent(state: "resolved", alert: done, atMicros: micros)
    }
}
