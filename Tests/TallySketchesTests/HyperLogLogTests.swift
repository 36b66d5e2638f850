import Testing
import TallySynthetic
@testable import TallySketches

func sketch(of count: Int, seed: UInt64, precision: Int = 14) -> HyperLogLog {
    var rng = SplitMix64(seed: seed)
    var h = HyperLogLog(precision: precision)
    for _ in 0..<count { h.insert(rng.next()) }
    return h
}

@Suite struct HyperLogLogAccuracyTests {
    @Test func exactUpToOneHundredInAtMostEightPlusThreeNBytes() {
        for trial in 0..<50 {
            var rng = SplitMix64(seed: 900 + UInt64(trial))
            var h = HyperLogLog()
            for n in 1...100 {
                h.insert(rng.next())
                #expect(h.estimate == Double(n), "trial \(trial) n=\(n)")
                #expect(h.serialized().count <= 8 + 3 * n, "trial \(trial) n=\(n): \(h.serialized().count) B")
            }
        }
    }

    @Test func duplicatesDoNotCount() {
        var h = HyperLogLog()
        for round in 0..<5 { for i in 0..<3_000 { h.insert(UInt64(i)) }; _ = round }
        #expect(abs(h.estimate / 3_000 - 1) < 0.03)
        var small = HyperLogLog()
        for _ in 0..<10 { for i in 0..<50 { small.insert(UInt64(i)) } }
        #expect(small.estimate == 50)
    }

    /// Values seen again (the insert's read-only fast path in exact mode) change nothing:
    /// a sketch fed each value one to four times, in shuffled order and with an escape key
    /// among them, serializes byte for byte as one fed each value once, in exact mode and
    /// across the switch to registers.
    @Test(arguments: [40, 900, 1_024, 1_500])
    func repeatedValuesChangeNothing(distinct: Int) {
        var rng = SplitMix64(seed: UInt64(distinct))
        var values = (0..<distinct).map { _ in rng.next() }
        while true {  // an escape: bits 14 … 27 of the mixed hash all zero
            let v = rng.next()
            if (HyperLogLog.mix(v) & HyperLogLog.keyMask) >> 14 == 0 { values[0] = v; break }
        }
        var once = HyperLogLog()
        for v in values { once.insert(v) }
        var repeated: [UInt64] = []
        for (i, v) in values.enumerated() { repeated += Array(repeating: v, count: 1 + i % 4) }
        repeated.shuffle(using: &rng)
        var again = HyperLogLog()
        for v in repeated { again.insert(v) }
        #expect(again.isExact == (distinct <= 1_024))
        #expect(again.keys == once.keys && again.keys.count == (distinct <= 1_024 ? distinct : 0))
        if distinct > 1_024 { #expect(again.registers == once.registers) }
    }

    /// 200 trials (the full 1,000-trial run is `tally-sketch accuracy`): the RMSE
    /// at 10^4 and 5·10^4 stays near 0.65 % and the mean error near zero.
    @Test func singleStreamErrorAndBias() {
        var errors10k: [Double] = [], errors50k: [Double] = []
        for trial in 0..<200 {
            var rng = SplitMix64(seed: 5_000 + UInt64(trial))
            var h = HyperLogLog()
            for _ in 0..<10_000 { h.insert(rng.next()) }
            errors10k.append(h.estimate / 10_000 - 1)
            for _ in 10_000..<50_000 { h.insert(rng.next()) }
            errors50k.append(h.estimate / 50_000 - 1)
        }
        for errors in [errors10k, errors50k] {
            let rmse = (errors.map { $0 * $0 }.reduce(0, +) / Double(errors.count)).squareRoot()
            let mean = errors.reduce(0, +) / Double(errors.count)
            #expect(rmse < 0.0075, "RMSE \(rmse)")
            #expect(abs(mean) < 0.002, "mean error \(mean)")
        }
    }

    /// Crossing from exact keys to registers must not shift the estimate.
    @Test func noJumpAtTheTransition() {
        var meanBefore = 0.0, meanAfter = 0.0
        let trials = 200
        for trial in 0..<trials {
            var rng = SplitMix64(seed: 7_000 + UInt64(trial))
            var h = HyperLogLog()
            let limit = h.exactLimit
            for _ in 0..<limit { h.insert(rng.next()) }
            #expect(h.isExact)
            meanBefore += h.estimate / Double(limit)
            for _ in 0..<(limit / 10) { h.insert(rng.next()) }
            #expect(!h.isExact)
            meanAfter += h.estimate / Double(limit + limit / 10)
        }
        #expect(abs(meanBefore / Double(trials) - 1) < 0.0005)
        #expect(abs(meanAfter / Double(trials) - 1) < 0.002)
    }
}

@Suite struct HyperLogLogUnionTests {
    /// The change mass kept through the switch to registers is the sum over every register.
    @Test func changeMassAtTheTransitionIsTheSumOverRegisters() {
        for precision in [10, 12, 14] {
            var h = HyperLogLog(precision: precision)
            var i: UInt64 = 0
            while h.isExact { h.insert(i); i += 1 }
            let kept = h.changeMass
            h.recomputeChangeMass()
            #expect(abs(kept - h.changeMass) <= 1e-9 * h.changeMass, "p = \(precision)")
        }
    }

    @Test func unionOfExactSketchesIsExact() throws {
        var a = HyperLogLog(), b = HyperLogLog()
        for i in 0..<300 { a.insert(UInt64(i)) }
        for i in 200..<500 { b.insert(UInt64(i)) }
        let union = try HyperLogLog.union([a, b])
        #expect(union.isExact && union.estimate == 500)
        #expect(try HyperLogLog.union([b, a]).serialized() == union.serialized())
    }

    /// Exact sketches whose union passes the exact limit: grouped any way, the union has the
    /// same registers and the same estimate (a scope rolled up from cohorts or from series).
    @Test func unionIsIndependentOfGrouping() throws {
        let parts = (0..<12).map { part in
            var h = HyperLogLog()
            for i in 0..<400 { h.insert(UInt64(part * 300 + i)) }  // overlapping, each exact
            return h
        }
        #expect(parts.allSatisfy { $0.isExact })
        let all = try HyperLogLog.union(parts)
        let pairs = try stride(from: 0, to: 12, by: 2).map { try HyperLogLog.union([parts[$0], parts[$0 + 1]]) }
        let thirds = try stride(from: 0, to: 12, by: 4).map { try HyperLogLog.union(Array(parts[$0..<($0 + 4)])) }
        for grouped in try [HyperLogLog.union(pairs), HyperLogLog.union(thirds)] {
            #expect(grouped.registers == all.registers)
            #expect(grouped.estimate == all.estimate)
        }
        #expect(!all.isExact && abs(all.estimate / 3_700 - 1) < 0.03, "\(all.estimate) for 3,700")
    }

    @Test func unionOfDenseSketches() throws {
        var total = 0.0
        let trials = 20
        for trial in 0..<trials {
            let parts = (0..<20).map { sketch(of: 5_000, seed: UInt64(trial * 100 + $0)) }
            let union = try HyperLogLog.union(parts)
            #expect(abs(union.estimate / 100_000 - 1) < 0.03)
            total += union.estimate / 100_000
            // Order does not matter, and a part merged twice changes nothing.
            #expect(try HyperLogLog.union(parts.reversed()).serialized() == union.serialized())
            #expect(try HyperLogLog.union(parts + [parts[0]]).estimate == union.estimate)
        }
        #expect(abs(total / Double(trials) - 1) < 0.005)
    }

    @Test func unionWithItselfIsItself() throws {
        let h = sketch(of: 30_000, seed: 1)
        let u = try HyperLogLog.union([h, h])
        #expect(abs(u.estimate / h.estimate - 1) < 0.02)
        #expect(u.registers == h.registers)
    }

    /// A sketch reduced to a smaller precision is the sketch built at that precision:
    /// key for key while exact, register for register when dense (escapes included).
    @Test(arguments: [10, 100, 300, 1_000, 5_000, 200_000])
    func reducedPrecisionEqualsBuildingAtIt(distinct: Int) {
        var rng = SplitMix64(seed: UInt64(distinct))
        let values = (0..<distinct).map { _ in rng.next() }
        for (from, to) in [(14, 12), (14, 10), (12, 4), (16, 14)] {
            var high = HyperLogLog(precision: from), low = HyperLogLog(precision: to)
            for v in values { high.insert(v); low.insert(v) }
            let reduced = high.reduced(toPrecision: to)
            #expect(reduced.precision == to && reduced.isExact == low.isExact, "\(distinct) values, p \(from) → \(to)")
            if low.isExact {
                #expect(reduced.keys == low.keys, "\(distinct) values, p \(from) → \(to)")
            } else {
                #expect(reduced.registers == low.registers, "\(distinct) values, p \(from) → \(to)")
                #expect(reduced.estimate == low.registerEstimate)
            }
        }
    }

    /// Sketches of different precisions union at the smallest (snapshots written at p = 12
    /// before the upgrade to 14 merge with those written after).
    @Test func mixedPrecisionsUnionAtTheSmallest() throws {
        var old = HyperLogLog(precision: 12), new = HyperLogLog(precision: 14), both = HyperLogLog(precision: 12)
        for i in 0..<20_000 as Range<UInt64> { old.insert(i); both.insert(i) }
        for i in 10_000..<40_000 as Range<UInt64> { new.insert(i); both.insert(i) }
        let union = try HyperLogLog.union([new, old])
        #expect(union.precision == 12)
        #expect(union.registers == both.registers)
        #expect(abs(union.estimate / 40_000 - 1) < 0.06)
    }
}

@Suite struct HyperLogLogSerializationTests {
    static let samples: [HyperLogLog] = [
        HyperLogLog(), sketch(of: 1, seed: 1), sketch(of: 77, seed: 2), sketch(of: 1_024, seed: 3),
        sketch(of: 50_000, seed: 4), try! HyperLogLog.union([sketch(of: 5_000, seed: 5), sketch(of: 5_000, seed: 6)]),
        sketch(of: 3_000, seed: 7, precision: 10),
    ]

    @Test(arguments: samples.indices)
    func roundTrip(index: Int) throws {
        let h = Self.samples[index]
        let bytes = h.serialized()
        let back = try HyperLogLog(serialized: bytes)
        #expect(back.serialized() == bytes)
        #expect(back.estimate == h.estimate)
        #expect(back.registers == h.registers && back.keys == h.keys)
        // Inserting after a round trip continues the same stream.
        var a = h, b = back
        for i in 0..<2_000 { a.insert(UInt64(i) &* 0x9E37_79B9); b.insert(UInt64(i) &* 0x9E37_79B9) }
        #expect(abs(a.estimate - b.estimate) <= 1e-9 * a.estimate)
    }

    @Test func denseIsCompact() {
        let big = sketch(of: 1_000_000, seed: 9)
        #expect(big.serialized().count <= 8_200)
    }

    /// The exact form bit for bit as HyperLogLog+Serialization.swift's table states it, from
    /// a bit list built here: 41 keys (l = 22 low bits), one of them an escape, and a jump of
    /// 48 in the high parts (a unary run past 32 zeros).
    @Test func theExactFormIsWrittenBitForBitAsSpecified() throws {
        var keys: [UInt64] = (0..<39).map { i in UInt64(i % 3) << 22 | (0x10000 + UInt64(i) * 977) }
        keys.append(50 << 22 | 0x20001)
        keys.append(0x123 | 20 << 32)  // bits 14 … 27 zero: an escape, register value 20 (> 28 − 14)
        var h = HyperLogLog(precision: 14)
        h.keys = keys
        #expect(h.isExact && h.keys.count == 41)
        let sorted = keys.sorted { $0 & HyperLogLog.keyMask < $1 & HyperLogLog.keyMask }
        var bits: [Bool] = []
        func put(_ value: UInt64, _ count: Int) { for i in (0..<count).reversed() { bits.append(value >> UInt64(i) & 1 == 1) } }
        for key in sorted { put(key, 22) }
        var previous: UInt64 = 0
        for key in sorted {
            let high = (key & HyperLogLog.keyMask) >> 22
            for _ in 0..<(high - previous) { bits.append(false) }
            bits.append(true)
            previous = high
        }
        for key in sorted where key >> 32 != 0 { put(key >> 32, 6) }
        while bits.count % 8 != 0 { bits.append(false) }
        var expected: [UInt8] = [0x11, 14, 41]
        for i in stride(from: 0, to: bits.count, by: 8) {
            expected.append(bits[i..<(i + 8)].reduce(0) { $0 << 1 | ($1 ? 1 : 0) })
        }
        #expect(h.serialized() == expected)
        let back = try HyperLogLog(serialized: expected)
        #expect(back.keys == h.keys)
    }

    @Test func escapedKeysKeepTheirRegisterValue() throws {
        // A value whose mixed hash has bits 14…27 zero needs its register value stored.
        var rng = SplitMix64(seed: 12)
        var found: UInt64? = nil
        while found == nil {
            let v = rng.next()
            if (HyperLogLog.mix(v) & HyperLogLog.keyMask) >> 14 == 0 { found = v }
        }
        var h = HyperLogLog()
        h.insert(found!)
        let back = try HyperLogLog(serialized: h.serialized())
        #expect(back.keys == h.keys && back.keys[0] >> 32 != 0)
        var dense = back
        dense.convertToDense()
        var direct = HyperLogLog()
        direct.registers = HyperLogLogRegisters(zeros: direct.registerCount)
        direct.insert(found!)
        #expect(dense.registers == direct.registers)
    }

    @Test(arguments: samples.indices)
    func malformedBytesAreRejected(index: Int) {
        let bytes = Self.samples[index].serialized()
        func rejects(_ b: [UInt8]) -> Bool { (try? HyperLogLog(serialized: b)) == nil }
        for length in 0..<bytes.count { #expect(rejects(Array(bytes.prefix(length))), "prefix \(length)") }
        #expect(rejects(bytes + [0]))
        var bad = bytes; bad[0] = 0x21; #expect(rejects(bad))   // version 2
        bad = bytes; bad[0] = 0x12; #expect(rejects(bad))       // unknown kind
        bad = bytes; bad[1] = 3; #expect(rejects(bad))          // precision 3
        bad = bytes; bad[1] = 19; #expect(rejects(bad))
    }

    @Test func randomCorruptionNeverTraps() {
        var rng = SplitMix64(seed: 88)
        for h in Self.samples {
            let bytes = h.serialized()
            for _ in 0..<300 {
                var b = bytes
                b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 + rng.next() % 255)
                if let decoded = try? HyperLogLog(serialized: b) { #expect(decoded.estimate >= 0) }
            }
        }
    }

    @Test func exactCountOverTheLimitIsRejected() {
        var w = ByteWriter()
        w.u8(0x11); w.u8(14); w.varint(5_000)
        #expect((try? HyperLogLog(serialized: w.bytes)) == nil)
    }
}

@Suite struct HyperLogLogPostgreSQLTests {
    /// Builds the expected FULL bytes straight from STORAGE.markdown's rules for
    /// the same hashes: idx = h & (m − 1), value = 1 + trailing zeros of h >> log2m.
    @Test func fullExportFollowsTheStorageSpecification() {
        let p = 10, m = 1 << p
        var rng = SplitMix64(seed: 3)
        var h = HyperLogLog(precision: p)
        var expected = [Int](repeating: 0, count: m)
        for _ in 0..<5_000 {
            let v = rng.next()
            h.insert(v)
            let hash = HyperLogLog.mix(v)
            let w = hash >> UInt64(p)
            let value = w == 0 ? 0 : w.trailingZeroBitCount + 1
            expected[Int(hash & UInt64(m - 1))] = max(expected[Int(hash & UInt64(m - 1))], value)
        }
        let bytes = h.postgreSQLFull()
        #expect(bytes[0] == 0x14)                       // schema 1, FULL
        #expect(bytes[1] == UInt8((6 - 1) << 5 | p))    // register width 6, log2m
        #expect(bytes[2] == 0x7F)
        #expect(bytes.count == 3 + (m * 6 + 7) / 8)
        // Unpack the 6-bit big-endian registers.
        for index in 0..<m {
            var value = 0
            for bit in 0..<6 {
                let position = index * 6 + bit
                value = value << 1 | Int(bytes[3 + position / 8] >> UInt8(7 - position % 8)) & 1
            }
            #expect(value == expected[index], "register \(index)")
        }
    }
}
