extension HyperLogLog {
    /// The union of sketches of the same precision: exact while the union of the
    /// exact key sets stays within ``exactLimit``, else registers (element-wise
    /// maximum) estimated with Ertl's estimator. Order- and grouping-independent: the
    /// union of unions has the same registers and the same estimate as the union of all.
    /// Sketches of different precisions are first ``reduced(toPrecision:)`` to the
    /// smallest, so the union has that precision.
    /// - Throws: never since precisions mix; kept so that callers need not change.
    public static func union(_ sketches: [HyperLogLog]) throws(SketchError) -> HyperLogLog {
        guard let first = sketches.first else { return HyperLogLog() }
        let smallest = sketches.reduce(first.precision) { Swift.min($0, $1.precision) }
        if sketches.contains(where: { $0.precision != smallest }) {
            return try union(sketches.map { $0.reduced(toPrecision: smallest) })
        }
        var result = HyperLogLog(precision: first.precision)
        if sketches.count == 1 { return first }
        if sketches.allSatisfy(\.isExact) {
            var merged: [UInt64] = []
            merged.reserveCapacity(sketches.reduce(0) { $0 + $1.exact.count })
            for sketch in sketches { sketch.exact.forEachKey { merged.append($0) } }
            merged.sort { ($0 & keyMask, $0) < ($1 & keyMask, $1) }
            // Keep one key per 28-bit value: the last, which carries the largest escape.
            var keys: [UInt64] = []
            keys.reserveCapacity(merged.count)
            for key in merged {
                if let last = keys.last, last & keyMask == key & keyMask { keys[keys.count - 1] = key } else { keys.append(key) }
            }
            result.keys = keys
            if keys.count > result.exactLimit {
                // Registers, estimated like every other union (Ertl): starting the martingale
                // from the exact count would be closer here, but then the estimate of the
                // same registers would depend on how the sketches were grouped (a scope
                // rolled up from cohorts versus from series), and roll-ups must agree.
                result.convertToDense()
                result.hipValid = false
            }
            return result
        }
        result.registers = HyperLogLogRegisters(zeros: result.registerCount)
        for sketch in sketches {
            if sketch.isExact {
                // Fold the few exact keys straight in (building 2^p registers per small sketch
                // made a union of 10,000 series cost ~40 M register updates).
                HyperLogLog.foldExactKeys(of: sketch, into: &result.registers)
                continue
            }
            result.registers.formMaximum(sketch.registers)
        }
        result.hipValid = false
        result.recomputeChangeMass()
        return result
    }

    /// Adds every value of `other` (see ``union(_:)``).
    public mutating func formUnion(_ other: HyperLogLog) throws(SketchError) {
        self = try HyperLogLog.union([self, other])
    }
}
