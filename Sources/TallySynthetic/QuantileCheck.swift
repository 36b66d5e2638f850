/// How far an estimator's quantiles are from the exact order statistics of a data set: the
/// accuracy checks of the sketch tests and of `tally-sketch accuracy`.
public enum QuantileCheck {
    /// Worst relative distance, over q = `from` … 0.999 by 0.001, from `quantile(q)` to the
    /// exact order statistics around rank q·n of `sorted` (ascending, not empty): any value
    /// between the two neighbouring order statistics counts as right, so the error is 0
    /// there. Relative to the lower neighbour (at least 10⁻³⁰⁰ in magnitude).
    public static func worstValueError(sorted: [Double], from: Double = 0.01,
                                       quantile: (Double) -> Double) -> (error: Double, at: Double) {
        var worst = 0.0, at = 0.0
        let n = sorted.count
        for step in Int((from * 1_000).rounded())...999 {
            let q = Double(step) / 1_000
            let rank = q * Double(n)
            let low = sorted[max(0, min(n - 1, Int(rank.rounded(.down)) - 1))]
            let high = sorted[min(n - 1, Int(rank.rounded(.up)))]
            let answer = quantile(q)
            let distance = answer < low ? low - answer : (answer > high ? answer - high : 0)
            let error = distance / max(abs(low), 1e-300)
            if error > worst { worst = error; at = q }
        }
        return (worst, at)
    }
}
