extension HyperLogLog {
    /// The same values counted at a smaller precision `target` (4 … ``precision``): what
    /// inserting them into a `HyperLogLog(precision: target)` would have given, register
    /// for register (or key for key while exact), so sketches written at different
    /// precisions (a collector upgraded from p = 12 to 14, or configured otherwise) still
    /// union. The result is estimated as a union (Ertl). Unchanged when `target` ≥ p.
    ///
    /// Why it is exact: a value's hash h picks register `h & (2^p − 1)` and value
    /// `tz(h >> p) + 1`. At p' < p the register is `h & (2^p' − 1)`, and the value counts
    /// the zeros from bit p' on: the top p − p' bits of the old index, u = index >> p',
    /// give `tz(u) + 1` when u ≠ 0, else `(p − p') + ` the old value. A register holds the
    /// maximum over its values, and so does the reduced one.
    public func reduced(toPrecision target: Int) -> HyperLogLog {
        let p = precision, q = Swift.max(4, target)
        guard q < p else { return self }
        var result = HyperLogLog(precision: q)
        let shift = UInt64(p - q)
        if isExact {
            // Keys keep the hash's low 28 bits; a key whose bits q … 27 are zero is an escape
            // at q too, with its value raised by p − q (it was one at p, as bits p … 27 are zero).
            result.keys = keys.map { key in
                let low = key & HyperLogLog.keyMask
                guard low >> UInt64(q) == 0 else { return low }
                return low | (key >> 32 + shift) << 32
            }
            if result.exact.count > result.exactLimit {
                result.convertToDense()
            }
            result.hipValid = false
            return result
        }
        var dense = HyperLogLogRegisters(zeros: result.registerCount)
        let mask = result.registerCount - 1
        for index in 0..<registerCount {
            let r = registers[index]
            guard r != 0 else { continue }
            let u = index >> q
            let value = u != 0 ? UInt8(truncatingIfNeeded: u.trailingZeroBitCount + 1) : r + UInt8(shift)
            if value > dense[index & mask] { dense[index & mask] = value }
        }
        result.registers = dense
        result.hipValid = false
        result.recomputeChangeMass()
        return result
    }
}
