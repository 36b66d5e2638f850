extension HyperLogLog {
    /// The sketch in postgresql-hll's storage format (schema version 1, citusdata
    /// STORAGE.markdown) in its smallest register form: EMPTY (3 bytes) when nothing
    /// was counted, SPARSE — the non-zero registers as (log2m + 6)-bit short-words
    /// `index << 6 | value`, ascending index, packed MSB first — while that is smaller
    /// than FULL, else ``postgreSQLFull()``. The registers are the FULL export's
    /// (same parameter and cutoff bytes), so PostgreSQL's unions and cardinalities do
    /// not depend on the form; a series with a few users costs bytes, not 3 KiB.
    /// Exact-mode sketches are read from their keys without building registers.
    public func postgreSQLCompact() -> [UInt8] {
        let p = precision, m = registerCount, width = 6
        let header: [UInt8] = [0x13, UInt8((width - 1) << 5 | p), 0x7F]
        // SPARSE is smaller than FULL while filled × (p + 6) < m × 6 bits.
        let sparseLimit = (m * width - 1) / (p + width)
        var pairs: [(index: Int, value: UInt8)] = []
        if isExact {
            var best: [Int: UInt8] = [:]
            best.reserveCapacity(exact.count)
            let mask = m - 1, top = maxRegister
            exact.forEachKey { key in
                let index = Int(truncatingIfNeeded: key) & mask
                let r = HyperLogLog.register(ofKey: key, precision: UInt64(p))
                let value = r == top ? 0 : r
                if value > best[index, default: 0] { best[index] = value }
            }
            pairs = best.map { ($0.key, $0.value) }.sorted { $0.index < $1.index }
        } else {
            let top = maxRegister
            for index in 0..<m {
                let r = registers[index]
                guard r != 0 && r != top else { continue }
                pairs.append((index, r))
                if pairs.count > sparseLimit { return postgreSQLFull() }
            }
        }
        if pairs.isEmpty { return [0x11, header[1], header[2]] }
        if pairs.count > sparseLimit { return postgreSQLFull() }
        var bits = BitWriter()
        for (index, value) in pairs { bits.write(UInt64(index) << UInt64(width) | UInt64(value), bits: p + width) }
        return header + bits.finish()
    }
}
