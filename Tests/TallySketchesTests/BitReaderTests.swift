import Testing
import TallySynthetic
@testable import TallySketches

/// `BitReader` reads a window of up to 56 bits at a time; these tests hold it to the plain
/// definition, a bit at a time from an array of bits, on random streams and random reads,
/// near a buffer's end, in buffers shorter than a word, and on truncated and over-long runs.
@Suite struct BitReaderTests {
    /// The bits of `bytes`, most significant first, and what each read answers over them.
    struct Reference {
        let bits: [UInt64]
        var at: Int

        init(_ bytes: [UInt8], from start: Int) {
            bits = bytes.flatMap { byte in (0..<8).map { UInt64(byte >> UInt8(7 - $0)) & 1 } }
            at = start * 8
        }

        /// `other`: an error the reader should never throw (the reference never answers it).
        enum Outcome: Equatable { case value(UInt64), truncated, overLimit, other(SketchError) }

        mutating func read(_ count: Int) -> Outcome {
            guard count <= bits.count - at else { return .truncated }
            var value: UInt64 = 0
            for _ in 0..<count { value = value << 1 | bits[at]; at += 1 }
            return .value(value)
        }

        /// A run of `bit`s ended by the other bit (consumed), at most `limit` long.
        mutating func run(of bit: UInt64, limit: Int) -> Outcome {
            var count = 0
            while true {
                guard at < bits.count else { return .truncated }
                let next = bits[at]
                at += 1
                guard next == bit else { return .value(UInt64(count)) }
                count += 1
                if count > limit { return .overLimit }
            }
        }
    }

    /// What the reader answered, in the reference's terms.
    static func outcome(_ body: () throws(SketchError) -> UInt64?) -> Reference.Outcome {
        do throws(SketchError) {
            guard let value = try body() else { return .overLimit }
            return .value(value)
        } catch {
            if case .truncated = error { return .truncated }
            if case .invalidField = error { return .overLimit }
            return .other(error)
        }
    }

    /// Bytes whose runs are long enough to cross a word: mostly all-ones and all-zero bytes.
    static func stream(_ length: Int, _ rng: inout SplitMix64) -> [UInt8] {
        (0..<length).map { _ in
            switch rng.next() % 5 {
            case 0: return 0xFF
            case 1: return 0
            default: return UInt8(truncatingIfNeeded: rng.next())
            }
        }
    }

    @Test(arguments: [1, 2, 5, 7, 8, 9, 15, 16, 17, 40, 300])
    func readsAsTheBitByBitDefinition(length: Int) {
        var rng = SplitMix64(seed: UInt64(length) &* 7919)
        for round in 0..<200 {
            let bytes = Self.stream(length, &rng)
            let start = Int(rng.next() % UInt64(min(length, 3)))
            var expected = Reference(bytes, from: start)
            bytes.withUnsafeBytes { raw in
                var reader = BitReader(raw, from: start)
                var step = 0
                while step < 64 {
                    step += 1
                    let want: Reference.Outcome, got: Reference.Outcome
                    switch rng.next() % 5 {
                    case 0:
                        want = expected.read(1)
                        got = Self.outcome { () throws(SketchError) in try reader.bit() }
                    case 1:
                        let n = Int(rng.next() % 65)
                        want = expected.read(n)
                        got = Self.outcome { () throws(SketchError) in try reader.read(bits: n) }
                    case 2:
                        let limit = Int(rng.next() % 80)
                        want = expected.run(of: 1, limit: limit)
                        got = Self.outcome { () throws(SketchError) in UInt64(try reader.unary(limit: limit)) }
                    case 3:
                        let limit = Int(rng.next() % 80)
                        want = expected.run(of: 0, limit: limit)
                        got = Self.outcome { () throws(SketchError) in
                            try reader.zerosBeforeOne(limit: limit).map(UInt64.init)
                        }
                    default:
                        let n = Int(rng.next() % 12)
                        want = expected.read(n)
                        got = Self.outcome { () throws(SketchError) in try reader.read(bits: n) }
                    }
                    #expect(got == want, "length \(length), round \(round), step \(step)")
                    guard got == want else { return }
                    // After an error the two positions need not agree (a refused read moves
                    // neither, a run may stop part way): start both again from the reader's.
                    if case .value = want {
                        #expect(reader.bitOffset == expected.at, "length \(length), round \(round), step \(step)")
                    } else {
                        expected.at = reader.bitOffset
                    }
                    if reader.bitOffset >= raw.count * 8 { break }
                }
            }
        }
    }

    @Test func longRunsCrossWordsAndStopAtTheirLimits() throws {
        // 100 ones, a zero, 70 zeros, a one, then 7 bits of padding: 179 bits in 23 bytes.
        var w = BitWriter()
        w.write(UInt64.max, bits: 50); w.write(UInt64.max, bits: 50); w.write(0, bits: 1)
        w.write(0, bits: 50); w.write(0, bits: 20); w.write(1, bits: 1)
        let bytes = w.finish()
        try bytes.withUnsafeBytes { (raw) throws in
            var reader = BitReader(raw, from: 0)
            #expect(try reader.unary(limit: 100) == 100)
            #expect(try reader.zerosBeforeOne(limit: 70) == 70)
            #expect(try reader.finish() == bytes.count)

            var tight = BitReader(raw, from: 0)
            #expect(throws: SketchError.self) { try tight.unary(limit: 99) }
            var zeros = BitReader(raw, from: 0)
            _ = try zeros.unary(limit: 100)
            #expect(try zeros.zerosBeforeOne(limit: 69) == nil)
        }
        // Ones to the end of the buffer: truncated, not over the limit.
        try [UInt8](repeating: 0xFF, count: 11).withUnsafeBytes { (raw) throws in
            var reader = BitReader(raw, from: 0)
            #expect(throws: SketchError.truncated(field: "bit stream")) { try reader.unary(limit: 1_000) }
            var read = BitReader(raw, from: 0)
            #expect(try read.read(bits: 64) == UInt64.max)
            #expect(throws: SketchError.truncated(field: "bit stream")) { try read.read(bits: 25) }
            #expect(try read.read(bits: 24) == 0xFF_FFFF)
        }
    }
}
