/// Green / yellow / red boundaries of one KPI (or of a fairness gap), with the
/// minimum sample below which the light is ``Light/insufficientData``, an owner and
/// the recommended action per state.
///
/// With `higherIsWorse`: value ≤ `green` is green, ≤ `yellow` is yellow, above is red.
/// Otherwise: value ≥ `green` is green, ≥ `yellow` is yellow, below is red.
public struct Threshold: Sendable, Equatable {
    public var higherIsWorse: Bool
    public var green: Double
    public var yellow: Double
    /// Requests a scope needs before it is judged.
    public var minRequests: UInt64
    public var owner: String
    /// Recommended action per light (``Light/defaultAction`` when absent).
    public var actions: [Light: String]
    /// The lightest state that is a breach for alerting (`red` by default); nil: never alerts.
    public var alertOn: Light?

    public init(higherIsWorse: Bool, green: Double, yellow: Double, minRequests: UInt64, owner: String = "",
                actions: [Light: String] = [:], alertOn: Light? = .red) {
        self.higherIsWorse = higherIsWorse
        self.green = green
        self.yellow = yellow
        self.minRequests = minRequests
        self.owner = owner
        self.actions = actions
        self.alertOn = alertOn
    }

    /// The light for `value` measured over `requests` requests (nil value: undefined
    /// for this scope, judged as insufficient data).
    public func light(_ value: Double?, requests: UInt64) -> Light {
        guard requests >= minRequests, let value, value.isFinite else { return .insufficientData }
        if higherIsWorse {
            return value <= green ? .green : value <= yellow ? .yellow : .red
        }
        return value >= green ? .green : value >= yellow ? .yellow : .red
    }

    public func action(_ light: Light) -> String { actions[light] ?? light.defaultAction }

    /// The boundary a light crossed, for alert events: `yellow` for red, `green` otherwise.
    public func boundary(for light: Light) -> Double { light == .red ? yellow : green }

    /// Whether `light` is a breach for alerting.
    public func breaches(_ light: Light) -> Bool {
        guard let alertOn, light != .insufficientData, light != .none else { return false }
        return light >= alertOn
    }
}
