#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension HyperLogLog {
    /// Ertl's improved raw estimator (Ertl 2017, algorithm 6): unbiased over the
    /// whole range without bias tables or a switch to linear counting. With every
    /// register saturated (only a forged sketch gets there) the formula is ∞; the
    /// estimate is then 2^64, more than 64-bit hashes tell apart (found by fuzzing).
    static func ertlEstimate(_ registers: HyperLogLogRegisters, precision p: Int) -> Double {
        let m = Double(registers.count)
        let q = 64 - p
        var histogram = [Double](repeating: 0, count: q + 2)
        for r in registers { histogram[Int(r)] += 1 }
        var z = m * tau(1 - histogram[q + 1] / m)
        for k in stride(from: q, through: 1, by: -1) { z = 0.5 * (z + histogram[k]) }
        z += m * sigma(histogram[0] / m)
        guard z > 0 else { return 0x1p64 }
        return m * m / (2 * log(2.0)) / z
    }

    /// σ(x) = x + Σ_{k≥1} x^(2^k)·2^(k−1); σ(1) = ∞.
    static func sigma(_ x: Double) -> Double {
        if x == 1 { return .infinity }
        var x = x, y = 1.0, z = x
        while true {
            x *= x
            let previous = z
            z += x * y
            y += y
            if z == previous { return z }
        }
    }

    /// τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))²·2^−k) / 3; τ(0) = τ(1) = 0.
    static func tau(_ x: Double) -> Double {
        if x == 0 || x == 1 { return 0 }
        var x = x, y = 1.0, z = 1 - x
        while true {
            x = x.squareRoot()
            let previous = z
            y *= 0.5
            z -= (1 - x) * (1 - x) * y
            if z == previous { return z / 3 }
        }
    }
}
