import Testing
import TallySynthetic
@testable import TallySketches

/// Sketches read back from PostgreSQL's forms (`tdigest_send`, postgresql-hll storage):
/// what Tally exports comes back with the same centroids and registers, and bad bytes
/// are errors, never traps.
@Suite struct PostgreSQLImportTests {
    /// `tdigest_send`'s layout (big-endian flags i32, count i64, compression i32,
    /// centroids i32, then mean f64 and count i64 each), written from the extension's
    /// description, independent of the reader under test.
    static func send(_ digest: TDigest, flags: UInt32 = 1, count: UInt64? = nil, extra: [UInt8] = []) -> [UInt8] {
        var d = digest
        d.compress()
        var bytes: [UInt8] = []
        func put(_ value: UInt64, _ size: Int) { for i in (0..<size).reversed() { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) } }
        put(UInt64(flags), 4)
        put(count ?? d.count, 8)
        put(UInt64(d.compression), 4)
        put(UInt64(d.centroids.count), 4)
        for c in d.centroids {
            let weight = UInt64(c.weight)
            put((flags & 1 == 1 ? Double(c.mean) : Double(c.mean) * Double(weight)).bitPattern, 8)
            put(weight, 8)
        }
        return bytes + extra
    }

    @Test func aDigestComesBackWithItsCentroids() throws {
        var rng = SplitMix64(seed: 5)
        var digest = TDigest(compression: 100)
        for _ in 0..<20_000 { digest.insert(rng.unit() * rng.unit() * 3_000) }
        digest.compress()
        let back = try TDigest(postgreSQLSend: Self.send(digest), compression: 100, scale: digest.scale, sum: digest.sum)
        #expect(back.count == digest.count)
        #expect(back.sum == digest.sum)
        #expect(back.centroids == digest.centroids)
        for q in [0.01, 0.25, 0.5, 0.9, 0.99, 0.999] {
            let (a, b) = (back.quantile(q), digest.quantile(q))
            #expect(abs(a - b) <= 0.01 * max(b, 1), "q \(q): \(a) vs \(b)")
        }
        // Without the exact sum, Σ mean × count; flags 0 (sums instead of means) reads the same.
        let old = try TDigest(postgreSQLSend: Self.send(digest, flags: 0), compression: 100, scale: digest.scale)
        #expect(old.centroids == digest.centroids)
        #expect(abs(old.sum - digest.sum) <= 1e-4 * digest.sum)
        #expect(try TDigest(postgreSQLSend: Self.send(TDigest())).isEmpty)
    }

    @Test func badDigestBytesAreErrors() {
        var digest = TDigest(compression: 100)
        for v in [1.0, 2, 3, 4, 5] { digest.insert(v) }
        let good = Self.send(digest)
        #expect(throws: SketchError.self) { try TDigest(postgreSQLSend: Array(good.dropLast())) }
        #expect(throws: SketchError.self) { try TDigest(postgreSQLSend: Self.send(digest, count: 6)) }
        #expect(throws: SketchError.self) { try TDigest(postgreSQLSend: Self.send(digest, extra: [0])) }
        var unordered = good
        unordered.replaceSubrange(20..<28, with: withUnsafeBytes(of: (9.0).bitPattern.bigEndian, Array.init))
        #expect(throws: SketchError.self) { try TDigest(postgreSQLSend: unordered) }
        var notFinite = good
        notFinite.replaceSubrange(20..<28, with: withUnsafeBytes(of: Double.nan.bitPattern.bigEndian, Array.init))
        #expect(throws: SketchError.self) { try TDigest(postgreSQLSend: notFinite) }
        var manyCentroids = good
        manyCentroids.replaceSubrange(16..<20, with: [0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: SketchError.self) { try TDigest(postgreSQLSend: manyCentroids) }
        for cut in 0..<good.count { _ = try? TDigest(postgreSQLSend: Array(good.prefix(cut))) }
    }

    @Test(arguments: [0, 1, 40, 200, 5_000, 100_000])
    func aHyperLogLogComesBackWithItsRegisters(count: Int) throws {
        var sketch = HyperLogLog(precision: 12)
        var rng = SplitMix64(seed: UInt64(count))
        for _ in 0..<count { sketch.insert(rng.next()) }
        for bytes in [sketch.postgreSQLFull(), sketch.postgreSQLCompact()] {
            let back = try HyperLogLog(postgreSQL: bytes)
            #expect(back.precision == 12)
            if count == 0 && bytes.count == 3 {
                #expect(back.estimate == 0)
                continue
            }
            var dense = sketch
            if dense.isExact { dense.convertToDense() }
            #expect(back.registers == dense.registers, "\(count) values, type \(bytes[0] & 0x0F)")
            // Registers without history estimate like a union of the original.
            let union = try HyperLogLog.union([sketch, HyperLogLog(postgreSQL: sketch.postgreSQLFull())])
            #expect(abs(back.estimate - union.estimate) <= 1e-9 * max(1, union.estimate))
            #expect(abs(back.estimate - Double(count)) <= 0.05 * Double(count) + 1)
        }
    }

    @Test func explicitHashesBecomeRegisters() throws {
        // EXPLICIT (type 2): raw 64-bit hashes; register h & (m − 1) takes tz(h >> p) + 1.
        let p = 10, hashes: [UInt64] = [0x0000_0000_0000_1403, 0xFFFF_0000_0000_0403, 0x8000_0000_0000_0001]
        var bytes: [UInt8] = [0x12, UInt8(5 << 5 | p), 0x7F]
        for h in hashes { for i in (0..<8).reversed() { bytes.append(UInt8(truncatingIfNeeded: h >> (8 * UInt64(i)))) } }
        let back = try HyperLogLog(postgreSQL: bytes)
        #expect(back.registers[3] == UInt8((UInt64(0x1403) >> 10).trailingZeroBitCount + 1))  // 0x5: tz 0 → 1
        #expect(back.registers[1] == UInt8((UInt64(0x8000_0000_0000_0001) >> 10).trailingZeroBitCount + 1))
        #expect(back.registers.filter { $0 > 0 }.count == 2, "0xFFFF…0403 and 0x…1403 share register 3")
    }

    @Test func badHyperLogLogBytesAreErrors() {
        let full = HyperLogLog(precision: 12).postgreSQLFull()
        #expect(throws: SketchError.self) { try HyperLogLog(postgreSQL: [0x11, 0xAC]) }                 // truncated header
        #expect(throws: SketchError.self) { try HyperLogLog(postgreSQL: [0x21, 0xAC, 0x7F]) }           // schema version 2
        #expect(throws: SketchError.self) { try HyperLogLog(postgreSQL: [0x11, 0x8C, 0x7F]) }           // 5-bit registers
        #expect(throws: SketchError.self) { try HyperLogLog(postgreSQL: [0x11, 0xA3, 0x7F]) }           // log2m 3
        #expect(throws: SketchError.self) { try HyperLogLog(postgreSQL: [0x15, 0xAC, 0x7F]) }           // type 5
        #expect(throws: SketchError.self) { try HyperLogLog(postgreSQL: [0x11, 0xAC, 0x7F, 0]) }        // EMPTY with bytes
        #expect(throws: SketchError.self) { try HyperLogLog(postgreSQL: Array(full.dropLast())) }       // short FULL
        #expect(throws: SketchError.self) { try HyperLogLog(postgreSQL: [0x12, 0xAC, 0x7F, 1, 2, 3]) }  // EXPLICIT, partial hash
        // SPARSE (p 4, 10-bit words): index 15 value 63 > 64 − 4 + 1 = 61.
        #expect(throws: SketchError.self) { try HyperLogLog(postgreSQL: [0x13, 0xA4, 0x7F, 0b1111_1111, 0b1111_0000]) }
        for cut in 0..<full.count { _ = try? HyperLogLog(postgreSQL: Array(full.prefix(cut))) }
    }
}
