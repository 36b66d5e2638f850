/// Numbers for people (summaries, terminal lines): seconds as ms below 1 s, ratios
/// as percentages, dollars with 4 decimals, counts whole, anything else with 3 decimals.
public enum UnitFormat {
    /// `value` in `unit` (`s`, `ratio`, `usd`, `count`, or anything else); `–` when not finite.
    public static func text(_ value: Double, unit: String) -> String {
        guard value.isFinite else { return "–" }
        switch unit {
        case "s": return value < 1 ? fixed(value * 1_000, 0) + " ms" : fixed(value, 2) + " s"
        case "ratio": return fixed(value * 100, 2) + " %"
        case "usd": return "$" + fixed(value, 4)
        case "count": return fixed(value, 0)
        default: return fixed(value, 3)
        }
    }

    /// `value` rounded to `digits` decimals.
    public static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "–" }
        var factor = 1.0
        for _ in 0..<digits { factor *= 10 }
        let rounded = (value * factor).rounded() / factor
        return digits == 0 ? String(Int(rounded)) : String(rounded)
    }
}
