extension HyperLogLog {
    /// The sketch in postgresql-hll's storage format, schema version 1, type FULL
    /// (citusdata STORAGE.markdown): byte 0x14, the parameter byte
    /// `(registerWidth − 1) << 5 | log2m` with register width 6, the cutoff byte
    /// 0x7F (sparse enabled, explicit cutoff "auto"), then m 6-bit registers packed
    /// big-endian, MSB first. Register values carry over unchanged (postgresql-hll
    /// uses the same index and value rule), except that a hash whose upper bits
    /// are all zero (probability 2^(p−64)) counts 0 there and 64 − p + 1 here.
    /// Exact-mode sketches are converted to registers first.
    public func postgreSQLFull() -> [UInt8] {
        var sketch = self
        if sketch.isExact { sketch.convertToDense() }
        let width = 6
        var bytes: [UInt8] = [0x14, UInt8((width - 1) << 5 | precision), 0x7F]
        var bits = BitWriter()
        for r in sketch.registers { bits.write(UInt64(r == maxRegister ? 0 : r), bits: width) }
        bytes += bits.finish()
        return bytes
    }
}

extension HyperLogLog {
    /// A sketch from postgresql-hll's storage format (schema version 1, citusdata
    /// STORAGE.markdown): EMPTY, EXPLICIT (raw 64-bit hashes, big-endian), SPARSE
    /// ((log2m + width)-bit short-words `index << width | value`, MSB first) or FULL (m
    /// registers of `width` bits, MSB first), as ``postgreSQLCompact()`` writes them and
    /// as `hll_union_agg` returns them. The result holds registers only (postgresql-hll
    /// keeps no exact keys and no stream history), so it estimates like a union (Ertl);
    /// an empty sketch stays empty.
    /// - Throws: ``SketchError`` for another schema version or type, a register width
    ///   other than 6 bits (Tally's), a precision outside 4 … 18, truncated or trailing
    ///   bytes, an index out of range or a register value above 64 − p + 1.
    public init(postgreSQL bytes: [UInt8]) throws(SketchError) {
        guard bytes.count >= 3 else { throw .truncated(field: "hll header") }
        guard bytes[0] >> 4 == 1 else { throw .unsupportedVersion(bytes[0] >> 4) }
        let kind = bytes[0] & 0x0F
        let width = Int(bytes[1] >> 5) + 1, precision = Int(bytes[1] & 0x1F)
        guard width == 6 else { throw .invalidField(field: "hll register width", detail: "\(width)") }
        guard (4...18).contains(precision) else { throw .invalidField(field: "hll log2m", detail: "\(precision)") }
        self.init(precision: precision)
        let m = registerCount, top = UInt64(maxRegister)
        if kind == 1 {
            guard bytes.count == 3 else { throw .trailingBytes(bytes.count - 3) }
            return
        }
        registers = HyperLogLogRegisters(zeros: m)
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(SketchError) in
                switch kind {
                case 2:
                    guard (raw.count - 3) % 8 == 0 else { throw .trailingBytes((raw.count - 3) % 8) }
                    for start in stride(from: 3, to: raw.count, by: 8) {
                        var h: UInt64 = 0
                        for i in 0..<8 { h = h << 8 | UInt64(raw[start + i]) }
                        let index = Int(h & UInt64(m - 1))
                        let rest = h >> UInt64(precision)
                        // postgresql-hll's rule: a hash whose upper bits are all zero adds nothing.
                        guard rest != 0 else { continue }
                        let value = UInt8(rest.trailingZeroBitCount + 1)
                        if value > registers[index] { registers[index] = value }
                    }
                case 3:
                    let word = precision + width
                    var bits = BitReader(raw, from: 3)
                    // Whole short-words only: fewer than `word` bits left are the padding.
                    while raw.count * 8 - bits.bitOffset >= word {
                        let entry = try bits.read(bits: word)
                        let index = Int(entry >> UInt64(width)), value = entry & 0x3F
                        guard index < m else { throw .invalidField(field: "hll sparse index", detail: "\(index)") }
                        guard value <= top else { throw .invalidField(field: "hll register", detail: "\(value)") }
                        if UInt8(value) > registers[index] { registers[index] = UInt8(value) }
                    }
                case 4:
                    guard raw.count - 3 == (m * width + 7) / 8 else {
                        throw .invalidField(field: "hll full length", detail: "\(raw.count - 3) bytes for \(m) registers")
                    }
                    var bits = BitReader(raw, from: 3)
                    for index in 0..<m {
                        let value = try bits.read(bits: width)
                        guard value <= top else { throw .invalidField(field: "hll register", detail: "\(value)") }
                        registers[index] = UInt8(value)
                    }
                default:
                    throw .invalidField(field: "hll type", detail: "\(kind)")
                }
            }
        }
        try result.get()
        hipValid = false
        recomputeChangeMass()
    }
}
