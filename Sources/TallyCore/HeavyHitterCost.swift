/// The weight a frame's cost adds to the heavy hitters' cost summaries (SNAPSHOT.md,
/// "Heavy hitters"): the cost in US dollars rounded **up** to a multiple of 2⁻³² USD
/// (≈ 2.3 × 10⁻¹⁰ USD: at most ~1.2 % over for a one-token request at $0.02 a million
/// tokens, under 0.01 % for any request of a few hundred tokens).
///
/// On that grid every weight, every sum of weights (estimates, errors, W, merges) and every
/// such sum's 2³² multiple is exact in binary64, so a version-2 snapshot writes the cost
/// summaries as integers of 2⁻³² USD (flags bit 3, 4–5 bytes a number for the cents of a
/// window) instead of 9-byte binary64 escapes, and reads them back bit for bit. Rounding up
/// keeps Space-Saving's guarantee "true weight ≤ estimate" against the frames' own costs.
public enum HeavyHitterCost {
    /// Units a US dollar: 2³².
    public static let unitsPerDollar: Double = 4_294_967_296
    /// The size of one unit in US dollars: 2⁻³² (a power of two: scaling by it is exact).
    public static let dollarsPerUnit: Double = 1 / unitsPerDollar

    /// `cost` (US dollars, finite and > 0) rounded up to the grid; a cost whose multiple of
    /// 2³² is not finite (≥ 2⁹⁹² USD: no price makes one) is returned as it is.
    @inlinable
    public static func weight(_ cost: Double) -> Double {
        let units = cost * unitsPerDollar
        guard units.isFinite else { return cost }
        return units.rounded(.up) * dollarsPerUnit
    }

    /// Whether the weights of a summary whose total is `total` (≥ 0, finite) can be written
    /// in units: twice its multiple of 2³² is finite (its estimates and errors are ≤ it).
    @inlinable
    public static func isWritable(_ total: Double) -> Bool { (2 * total * unitsPerDollar).isFinite }
}
