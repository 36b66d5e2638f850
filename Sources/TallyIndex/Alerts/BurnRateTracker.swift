/// Bad and total requests of one scope over its last windows, for one SLO's
/// multi-window burn-rate rules. A ring of the last `capacity` windows (16 bytes
/// each; capacity = the SLO's longest rule span) with exact running sums per rule
/// span: O(1) per window and rule, never a re-sum.
public struct BurnRateTracker: Sendable {
    private var bad: [UInt64]
    private var total: [UInt64]
    private var next = 0
    private var filled = 0
    /// Running sums per span length (windows → (bad, total)).
    private var sums: [Int: (bad: UInt64, total: UInt64)]

    /// - Parameter spans: the window counts summed (each ≥ 1); the ring holds the largest.
    public init(spans: [Int]) {
        let capacity = max(1, spans.max() ?? 1)
        bad = [UInt64](repeating: 0, count: capacity)
        total = [UInt64](repeating: 0, count: capacity)
        sums = Dictionary(uniqueKeysWithValues: Set(spans.map { max(1, $0) }).map { ($0, (0, 0)) })
    }

    /// Adds one window (a window without traffic adds zeros).
    public mutating func add(bad newBad: UInt64, total newTotal: UInt64) {
        let capacity = bad.count
        for (span, sum) in sums {
            var s = sum
            s.bad &+= newBad
            s.total &+= newTotal
            if filled >= span {
                let old = (next - span + capacity) % capacity
                s.bad &-= bad[old]
                s.total &-= total[old]
            }
            sums[span] = s
        }
        bad[next] = newBad
        total[next] = newTotal
        next = (next + 1) % capacity
        filled = min(filled + 1, capacity)
    }

    /// Windows added so far (at most the ring's capacity).
    public var windows: Int { filled }

    /// The bad share over the last `span` windows (fewer while the ring fills); nil without traffic.
    public func badShare(span: Int) -> Double? {
        guard let s = sums[max(1, span)], s.total > 0 else { return nil }
        return Double(s.bad) / Double(s.total)
    }

    /// Burn rate over the last `span` windows: bad share / (1 − objective).
    public func burnRate(span: Int, objective: Double) -> Double? {
        badShare(span: span).map { $0 / (1 - objective) }
    }
}
