/// The result of a chi-square test: the statistic, its degrees of freedom and the
/// upper-tail p-value, P(χ²(df) ≥ statistic).
public typealias ChiSquareTest = (statistic: Double, degreesOfFreedom: Int, pValue: Double)

/// Pearson's chi-square test of homogeneity on an r × c table of counts.
enum ContingencyTable {
    /// Σ (O − E)²/E with E = row total · column total / grand total, on
    /// (r − 1)(c − 1) degrees of freedom. Cells whose expected count is 0 (an empty
    /// row or column) add nothing. `nil` when the rows are not all of one length, the
    /// grand total is 0 or there are fewer than one degree of freedom; callers drop the
    /// rows and columns that should not count.
    static func homogeneity(_ rows: [[UInt64]]) -> ChiSquareTest? {
        guard let columns = rows.first?.count, rows.allSatisfy({ $0.count == columns }) else { return nil }
        let degreesOfFreedom = (rows.count - 1) * (columns - 1)
        let rowTotals = rows.map { $0.reduce(0.0) { $0 + Double($1) } }
        let columnTotals = (0..<columns).map { j in rows.reduce(0.0) { $0 + Double($1[j]) } }
        let total = rowTotals.reduce(0, +)
        guard degreesOfFreedom >= 1, total > 0 else { return nil }
        var statistic = 0.0
        for (i, row) in rows.enumerated() {
            for (j, observed) in row.enumerated() {
                let expected = rowTotals[i] * columnTotals[j] / total
                guard expected > 0 else { continue }
                let difference = Double(observed) - expected
                statistic += difference * difference / expected
            }
        }
        return (statistic, degreesOfFreedom, ChiSquare.survival(statistic, degreesOfFreedom: degreesOfFreedom))
    }
}
