import Testing
@testable import TallyWire

/// A corpus of broken batches: one per rejection reason, and every truncation of a
/// valid batch. The decoder must name the reason and never trap.
@Suite struct MalformedBatchTests {
    /// A valid batch of two full frames; tests corrupt copies of it.
    static let valid: [UInt8] = {
        let encoder = BatchEncoder(producerID: 1)
        _ = try! encoder.append(fullFrame)
        _ = try! encoder.append(fullFrame)
        return Array(encoder.finish(sequence: 5))
    }()
    static let firstFrame = WireLimits.headerLength
    static var stringTable: Int { Int(valid[12]) | Int(valid[13]) << 8 }

    static func reason(of bytes: [UInt8]) -> WireRejectReason? {
        bytes.withUnsafeBytes { buffer -> WireRejectReason? in
            do { _ = try BatchDecoder().decode(buffer); return nil } catch let error as WireError {
                return error.reason
            } catch { return nil }
        }
    }

    /// The decoder's error for `bytes`, or nil when they decode.
    static func error(of bytes: [UInt8]) -> WireError? {
        bytes.withUnsafeBytes { buffer -> WireError? in
            do throws(WireError) { _ = try BatchDecoder().decode(buffer); return nil } catch { return error }
        }
    }

    static func corrupt(_ change: (inout [UInt8]) -> Void) -> WireRejectReason? {
        var bytes = valid
        change(&bytes)
        return reason(of: bytes)
    }

    static func put16(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt16) {
        bytes[offset] = UInt8(value & 0xFF); bytes[offset + 1] = UInt8(value >> 8)
    }

    static func put32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    @Test func validBatchDecodes() { #expect(Self.reason(of: Self.valid) == nil) }

    @Test func headerFaults() {
        #expect(Self.reason(of: []) == .truncated)
        #expect(Self.reason(of: [0x54, 0x4C]) == .truncated)
        #expect(Self.corrupt { $0[0] = 0x00 } == .badMagic)
        #expect(Self.corrupt { $0[4] = 2 } == .unsupportedVersion)
        #expect(Self.corrupt { $0[5] = 1 } == .unsupportedFlags)
        #expect(Self.corrupt { Self.put16(&$0, 6, 39) } == .badLayout)
        #expect(Self.corrupt { Self.put16(&$0, 6, 2000) } == .badLayout)
        #expect(Self.corrupt { Self.put32(&$0, 8, UInt32($0.count + 1)) } == .lengthMismatch)
        #expect(Self.corrupt { Self.put16(&$0, 22, 1) } == .reservedBitsSet)
        #expect(Self.corrupt { Self.put16(&$0, 20, 60) } == .badLayout)
        #expect(Self.corrupt { Self.put16(&$0, 16, UInt16(WireLimits.maxFrames + 1)) } == .overLimit)
        #expect(Self.corrupt { Self.put16(&$0, 18, UInt16(WireLimits.maxStrings + 1)) } == .overLimit)
        #expect(Self.corrupt { Self.put32(&$0, 12, 10) } == .lengthMismatch)
        #expect(Self.corrupt { Self.put32(&$0, 12, UInt32($0.count + 5)) } == .lengthMismatch)
        // Frame count one too high: the frames run into the string table.
        #expect(Self.corrupt { Self.put16(&$0, 16, 3) } == .lengthMismatch)
        // Frame count one too low: the frames end before the string table.
        #expect(Self.corrupt { Self.put16(&$0, 16, 1) } == .lengthMismatch)
        var big = [UInt8](repeating: 0, count: WireLimits.maxBatchBytes + 1)
        big.replaceSubrange(0..<Self.valid.count, with: Self.valid)
        #expect(Self.reason(of: big) == .overLimit)
    }

    @Test func stringTableFaults() {
        let table = Self.stringTable
        #expect(Self.corrupt { $0[table] = 0 } == .badString)
        #expect(Self.corrupt { $0[table + 1] = 0xFF } == .badString)       // not UTF-8
        #expect(Self.corrupt { $0[table + 1] = 0xC0; $0[table + 2] = 0x80 } == .badString)  // overlong
        #expect(Self.corrupt { $0[table] = 0xFF } == .truncated)            // length past the end
        #expect(Self.corrupt { $0.append(0); Self.put32(&$0, 8, UInt32($0.count)) } == .trailingBytes)
        #expect(Self.corrupt { Self.put16(&$0, 18, 12) } == .trailingBytes)  // one string fewer than present
    }

    @Test func frameFaults() {
        let f = Self.firstFrame
        #expect(Self.corrupt { $0[f + 60] = 6 } == .valueOutOfRange)                 // status
        #expect(Self.corrupt { $0[f + 61] = 3 } == .valueOutOfRange)                 // ring
        #expect(Self.corrupt { $0[f + 63] = 5 } == .valueOutOfRange)                 // severity
        #expect(Self.corrupt { $0[f + 62] = 0x80 } == .reservedBitsSet)              // outcome bit 7
        #expect(Self.corrupt { $0[f + 62] = 0x18 } == .valueOutOfRange)              // task = 3
        #expect(Self.corrupt { $0[f + 62] = 0x60 } == .valueOutOfRange)              // feedback = 3
        #expect(Self.corrupt { Self.put16(&$0, f + 64, 1 << 12) } == .reservedBitsSet)
        #expect(Self.corrupt { Self.put16(&$0, f + 64, 0) } == .valueOutOfRange)     // severity without kinds
        #expect(Self.corrupt { $0[f + 63] = 0 } == .valueOutOfRange)                 // kinds without severity
        #expect(Self.corrupt { $0[f + 67] = 1 } == .reservedBitsSet)
        #expect(Self.corrupt { Self.put16(&$0, f + 48, 0xFFFF) } == .stringReferenceOutOfRange)
        #expect(Self.corrupt { Self.put16(&$0, f + 48, 13) } == .stringReferenceOutOfRange)
        #expect(Self.corrupt { Self.put16(&$0, f + 54, 200) } == .stringReferenceOutOfRange)
        #expect(Self.corrupt { Self.put32(&$0, f + 28, 3_000_000) } == .valueOutOfRange)  // TTFT > total
        #expect(Self.corrupt { Self.put32(&$0, f + 24, 3_000_000) } == .valueOutOfRange)  // queue > total
        #expect(Self.corrupt { Self.put32(&$0, f + 44, 5_000) } == .valueOutOfRange)      // cached > input
        #expect(Self.corrupt { Self.put32(&$0, f + 68, 769) } == .valueOutOfRange)        // cached 256 + writes 769 > input 1,024
        #expect(Self.corrupt { Self.put32(&$0, f + 68, 768) } == nil)                     // … = input is fine
        #expect(Self.corrupt { Self.put32(&$0, f + 68, .max) } == .valueOutOfRange)       // the sum must not wrap
        #expect(Self.corrupt { Self.put32(&$0, f + 72, 513) } == .valueOutOfRange)        // reasoning > output 512
        #expect(Self.corrupt { Self.put32(&$0, f + 72, 512) } == nil)
        #expect(Self.corrupt { $0[f + 66] = 9 } == .tooManyTags)
        #expect(Self.corrupt { $0[f + 92 + 66] = 8 } == .lengthMismatch)  // last frame's tags overrun the table
        #expect(Self.corrupt { Self.put16(&$0, f + 76, 200) } == .stringReferenceOutOfRange)  // tag key
        #expect(Self.corrupt { Self.put16(&$0, f + 80, $0[f + 76...f + 77].withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) }) }
                == .duplicateTagKey)
    }

    /// The second frame of `valid` repeats the first's key refs, so the decoder checks only
    /// its values' refs (the keys were checked on the first frame): a fault there, or a key
    /// layout that differs, must still be found and named on the second frame.
    @Test func aFrameRepeatingTheLastKeysIsStillChecked() throws {
        let second = Self.firstFrame + 92, tags = second + 76
        func fault(_ change: (inout [UInt8]) -> Void) -> WireError? {
            var bytes = Self.valid
            change(&bytes)
            return Self.error(of: bytes)
        }
        let strings = UInt16(Self.valid[18]) | UInt16(Self.valid[19]) << 8
        for (tag, value) in [(0, strings), (2, strings), (3, UInt16.max)] {
            let error = try #require(fault { Self.put16(&$0, tags + 4 * tag + 2, value) }, "value ref \(value) in tag \(tag)")
            #expect(error.reason == .stringReferenceOutOfRange && error.frame == 1 && error.field == "tag[\(tag)]")
        }
        // The last value ref in range is fine; a key repeated inside the frame is not.
        #expect(fault { Self.put16(&$0, tags + 3 * 4 + 2, strings - 1) } == nil)
        let key0 = UInt16(Self.valid[tags]) | UInt16(Self.valid[tags + 1]) << 8
        let duplicate = try #require(fault { Self.put16(&$0, tags + 8, key0) })
        #expect(duplicate.reason == .duplicateTagKey && duplicate.frame == 1 && duplicate.field == "tag[2].key")
        let outOfRange = try #require(fault { Self.put16(&$0, tags + 4, strings) })
        #expect(outOfRange.reason == .stringReferenceOutOfRange && outOfRange.frame == 1)
    }

    /// The frame's five string refs are range-checked together (two 64-bit compares): each
    /// one, alone, at each edge of its range, is accepted or named as the spec says.
    @Test(arguments: [(48, "model"), (50, "model_version"), (52, "prompt_version"), (54, "route"), (56, "error_class")])
    func everyStringReferenceIsRangeChecked(at: Int, field: String) throws {
        let strings = UInt16(Self.valid[18]) | UInt16(Self.valid[19]) << 8
        let optional = field != "model"
        for frame in 0..<2 {
            let offset = Self.firstFrame + frame * 92 + at
            for (value, valid) in [(0, true), (strings - 1, true), (strings, false), (strings + 1, false),
                                   (0x7FFF, false), (0xFFFE, false), (0xFFFF, optional)] as [(UInt16, Bool)] {
                var bytes = Self.valid
                Self.put16(&bytes, offset, value)
                let error = Self.error(of: bytes)
                if valid {
                    #expect(error == nil, "\(field) = \(value) in frame \(frame)")
                } else {
                    #expect(error?.reason == .stringReferenceOutOfRange && error?.field == field && error?.frame == frame,
                            "\(field) = \(value) in frame \(frame): \(String(describing: error))")
                }
            }
        }
    }

    /// The repeated-keys check reads two tags a load: every tag count, odd ones included
    /// (the last tag read alone), must still find a value or key fault in any tag.
    @Test(arguments: 1...WireLimits.maxTags)
    func everyTagCountIsCheckedOnARepeatedLayout(tagCount: Int) throws {
        let frame = TraceFrame(eventTimeMicros: 1, model: "m", tags: (0..<tagCount).map { CohortTag("k\($0)", "v\($0)") },
                               totalLatencyMicros: 1)
        let encoder = BatchEncoder(producerID: 1)
        _ = try encoder.append(frame)
        _ = try encoder.append(frame)
        let valid = Array(encoder.finish(sequence: 0))
        let strings = UInt16(valid[18]) | UInt16(valid[19]) << 8
        let frameLength = Int(valid[20]) | Int(valid[21]) << 8
        let tags = Self.firstFrame + 2 * frameLength + tagCount * 4  // the second frame's tags
        func fault(_ change: (inout [UInt8]) -> Void) -> WireError? {
            var bytes = valid
            change(&bytes)
            return Self.error(of: bytes)
        }
        #expect(fault { _ in } == nil)
        for t in 0..<tagCount {
            for value in [strings, strings + 1, UInt16.max] {
                let error = try #require(fault { Self.put16(&$0, tags + 4 * t + 2, value) }, "value \(value) in tag \(t)")
                #expect(error.reason == .stringReferenceOutOfRange && error.frame == 1 && error.field == "tag[\(t)]")
            }
            #expect(fault { Self.put16(&$0, tags + 4 * t + 2, strings - 1) } == nil, "value \(strings - 1) in tag \(t)")
            // A different key layout: tag t's key becomes its own value's text (distinct from every key).
            let ownValue = UInt16(valid[tags + 4 * t + 2]) | UInt16(valid[tags + 4 * t + 3]) << 8
            #expect(fault { Self.put16(&$0, tags + 4 * t, ownValue) } == nil, "key layout changed in tag \(t)")
            let keyOutOfRange = try #require(fault { Self.put16(&$0, tags + 4 * t, strings) })
            #expect(keyOutOfRange.reason == .stringReferenceOutOfRange && keyOutOfRange.frame == 1)
            if tagCount > 1 {
                let other = (t + 1) % tagCount
                let otherKey = UInt16(valid[tags + 4 * other]) | UInt16(valid[tags + 4 * other + 1]) << 8
                let duplicate = try #require(fault { Self.put16(&$0, tags + 4 * t, otherKey) }, "key of tag \(other) in tag \(t)")
                #expect(duplicate.reason == .duplicateTagKey && duplicate.frame == 1)
            }
        }
    }

    /// The validator's ASCII words (eight bytes a load) against the standard library's
    /// strict decoder, on strings of 0 … 40 bytes with one non-ASCII sequence, valid or not,
    /// at every position: in a word, across two words and in the bytes after the last word.
    @Test func utf8ValidationAgreesWithTheStandardLibrary() {
        let sequences: [[UInt8]] = [
            [0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80],  // é, €, 😀
            [0xFF], [0x80], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],  // invalid, overlong, surrogate, > U+10FFFF
            [0xE2, 0x82], [0xC3],  // truncated
        ]
        var checked = 0
        for length in 0...40 {
            for sequence in sequences {
                for at in 0...length {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes.insert(contentsOf: sequence, at: at)
                    let expected = String(validating: bytes, as: UTF8.self) != nil
                    let actual = bytes.withUnsafeBytes { UTF8Validation.isValid($0) }
                    #expect(actual == expected, "\(sequence) at \(at) of \(length) ASCII bytes")
                    checked += 1
                }
            }
        }
        #expect(checked == 10 * (1...41).reduce(0, +))
        #expect(UTF8Validation.isValid(UnsafeRawBufferPointer(start: nil, count: 0)))
    }

    @Test func errorsNameWhereAndWhat() throws {
        var bytes = Self.valid
        bytes[Self.firstFrame + 92 + 60] = 9  // second frame's status
        try bytes.withUnsafeBytes { buffer in
            do {
                _ = try BatchDecoder().decode(buffer)
                Issue.record("decoded a corrupt batch")
            } catch let error as WireError {
                #expect(error.reason == .valueOutOfRange)
                #expect(error.frame == 1)
                #expect(error.field == "status")
                #expect(error.value == 9)
                #expect(error.offset == Self.firstFrame + 92 + 60)
            }
        }
    }

    /// Every proper prefix of a valid batch is rejected, never decoded, never a trap.
    @Test func everyTruncationIsRejected() {
        for length in 0..<Self.valid.count {
            let reason = Self.reason(of: Array(Self.valid.prefix(length)))
            #expect(reason != nil, "prefix of \(length) bytes decoded")
        }
    }

    /// Every single-byte corruption either decodes to a valid batch or is rejected;
    /// the point is that none traps or reads out of bounds.
    @Test func everySingleByteFlipIsHandled() {
        var rejected = 0
        for offset in 0..<Self.valid.count {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var bytes = Self.valid
                bytes[offset] ^= flip
                if Self.reason(of: bytes) != nil { rejected += 1 }
            }
        }
        #expect(rejected > Self.valid.count, "most header/layout flips must be caught")
    }
}
