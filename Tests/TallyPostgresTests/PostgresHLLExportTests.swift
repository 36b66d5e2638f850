import Testing
import TallySketches
import TallySynthetic

/// The compact postgresql-hll export (EMPTY, SPARSE, FULL) holds the FULL export's
/// registers in every form, and picks the smaller form (no server needed).
struct PostgresHLLExportTests {
    @Test(arguments: [0, 1, 5, 200, 1_000, 3_000, 50_000])
    func compactHoldsTheFullRegisters(distinct: Int) throws {
        var rng = SplitMix64(seed: UInt64(distinct) + 1)
        var h = HyperLogLog(precision: 12)
        for _ in 0..<distinct { h.insert(rng.next()) }
        let compact = h.postgreSQLCompact(), full = h.postgreSQLFull()
        let registers = try #require(PostgresHLLRegisters.decode(full))
        #expect(PostgresHLLRegisters.decode(compact) == registers)
        let filled = registers.filter { $0 != 0 }.count
        let sparseBytes = 3 + (filled * (12 + 6) + 7) / 8
        switch compact[0] {
        case 0x11: #expect(filled == 0 && compact.count == 3)
        case 0x13: #expect(filled > 0 && sparseBytes <= full.count && compact.count == sparseBytes)
        case 0x14: #expect(sparseBytes >= full.count - 1 && compact == full)
        default: Issue.record("type byte \(compact[0])")
        }
        #expect(compact[1] == full[1] && compact[2] == full[2])
        if distinct <= 200 { #expect(compact.count < 500, "a series with few users costs bytes, not 3 KiB: \(compact.count)") }
    }
}
