import TallySketches
import TallySynthetic

/// HyperLogLog accuracy over many independent trials (p = 14): relative error at
/// checkpoints from 1 to `maxDistinct` along each trial's stream, the exact range,
/// serialized sizes, and unions of 100 sketches.
struct HLLReport {
    let trials: Int
    let maxDistinct: Int

    static let checkpoints = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 1_024, 1_025, 1_100, 1_500, 2_000, 2_500, 3_000,
                              5_000, 7_500, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 10_000_000]

    func run() {
        let points = HLLReport.checkpoints.filter { $0 <= maxDistinct }
        var errors = [[Double]](repeating: [], count: points.count)
        var maxBytes = [Int](repeating: 0, count: points.count)
        var inexactSmall = 0
        for trial in 0..<trials {
            var rng = SplitMix64(seed: 0x5EED_0000 + UInt64(trial))
            var sketch = HyperLogLog()
            var inserted = 0
            for (index, n) in points.enumerated() {
                while inserted < n { sketch.insert(rng.next()); inserted += 1 }
                errors[index].append(sketch.estimate / Double(n) - 1)
                maxBytes[index] = max(maxBytes[index], sketch.serialized().count)
                if n <= 100 && sketch.estimate != Double(n) { inexactSmall += 1 }
            }
        }
        print("HyperLogLog p=14, \(trials) trials, distinct values per trial up to \(points.last!)")
        print("| n | mean error % | RMSE % | max abs error % | max bytes |")
        print("|---|---|---|---|---|")
        var worstRMSE = 0.0, worstMaxRatio = 0.0
        for (index, n) in points.enumerated() {
            let (mean, rmse, maxAbs) = HLLReport.stats(errors[index])
            print("| \(n) | \(fmt(mean * 100, 4)) | \(fmt(rmse * 100, 4)) | \(fmt(maxAbs * 100, 4)) | \(maxBytes[index]) |")
            if n >= 10_000 {
                worstRMSE = max(worstRMSE, rmse)
                worstMaxRatio = max(worstMaxRatio, maxAbs / rmse)
            }
        }
        let small = zip(points, maxBytes).filter { $0.0 <= 100 }
        let sizeOK = small.allSatisfy { $0.1 <= 8 + 3 * $0.0 }
        let meanAt10k = points.firstIndex(of: 10_000).map { HLLReport.stats(errors[$0]).mean * 100 }

        // Unions: 100 sketches of 10^4 distinct values each (disjoint), union of 10^6.
        var unionErrors: [Double] = []
        var unionBytes = 0
        for trial in 0..<trials {
            var rng = SplitMix64(seed: 0xC0FF_EE00_0000 + UInt64(trial))
            let parts = (0..<100).map { _ in
                var part = HyperLogLog()
                for _ in 0..<10_000 { part.insert(rng.next()) }
                return part
            }
            let union = try! HyperLogLog.union(parts)
            unionErrors.append(union.estimate / 1_000_000 - 1)
            unionBytes = max(unionBytes, union.serialized().count)
        }
        let (unionMean, unionRMSE, _) = HLLReport.stats(unionErrors)
        print("")
        print("| | measured | goal |")
        print("|---|---|---|")
        print("| exact range | \(inexactSmall == 0 ? "exact" : "\(inexactSmall) inexact estimates") for every n ≤ 100 in \(trials) trials; bytes ≤ 8 + 3n: \(sizeOK ? "yes" : "NO") (n=1: \(small.first?.1 ?? 0) B, n=100: \(small.last?.1 ?? 0) B) | exact for n ≤ 100 in ≤ 8 + 3n bytes |")
        print("| dense size at p=14 | \(maxBytes.last!) B at n=\(points.last!), union \(unionBytes) B | ≤ 8,200 B |")
        print("| RMSE at every n ≥ 10^4 | ≤ \(fmt(worstRMSE * 100, 3)) % (max error ≤ \(fmt(worstMaxRatio, 2)) × RMSE) | ≤ 0.65 % (max ≤ 4 × RMSE) |")
        print("| mean error at n = 10^4 | \(fmt(meanAt10k ?? .nan, 3)) % | ≤ 0.3 % |")
        print("| union of 100 sketches (10^6 distinct) | RMSE \(fmt(unionRMSE * 100, 3)) %, bias \(fmt(unionMean * 100, 3)) % | ≤ 0.82 %, ≤ 0.1 % |")
    }

    static func stats(_ errors: [Double]) -> (mean: Double, rmse: Double, maxAbs: Double) {
        let n = Double(errors.count)
        let mean = errors.reduce(0, +) / n
        let rmse = (errors.reduce(0) { $0 + $1 * $1 } / n).squareRoot()
        return (mean, rmse, errors.map(abs).max() ?? 0)
    }
}
