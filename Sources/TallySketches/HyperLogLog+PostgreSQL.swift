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
