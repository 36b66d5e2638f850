/// A traffic light, as the index document writes it (INDEX.md, "Lights").
/// Ordered by severity: `none` < `green` < `insufficient_data` < `yellow` < `red`, so the
/// worst of several lights is their maximum. `insufficient_data` is never green: a
/// scope below its minimum sample is unknown, not healthy.
public enum Light: String, Sendable, Codable, CaseIterable, Comparable {
    /// The KPI has no threshold: shown, not judged.
    case none
    case green
    case insufficientData = "insufficient_data"
    case yellow
    case red

    public static func < (a: Light, b: Light) -> Bool { a.rank < b.rank }
    private var rank: Int {
        switch self {
        case .none: 0
        case .green: 1
        case .insufficientData: 2
        case .yellow: 3
        case .red: 4
        }
    }

    /// What the state asks of an operator by default (a threshold may say more).
    public var defaultAction: String {
        switch self {
        case .none: ""
        case .green: "monitor"
        case .insufficientData: "wait for more traffic before judging"
        case .yellow: "investigate"
        case .red: "freeze rollouts; roll back or mitigate"
        }
    }
}
