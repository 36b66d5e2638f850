import Testing
@testable import TallyWire

/// The decoder checks a frame's enum bytes and its time order with word-wide compares
/// (``BatchDecoder/enumBytesValid(_:)``); these tests hold those compares to the
/// vocabulary's own definitions, for every value of every byte, in both frames of a batch.
@Suite struct FrameRulesTests {
    /// Bytes 60–63: each accepted exactly when the vocabulary defines it (status, ring and
    /// severity by their initialisers, outcome by ``OutcomeBits/isValid``), and refused with
    /// the reason FORMAT.md gives otherwise, naming the field.
    @Test(arguments: [(60, "status"), (61, "ring"), (62, "outcome"), (63, "safety_severity")])
    func everyEnumByteAgreesWithTheVocabulary(at: Int, field: String) throws {
        let frameLength = Int(MalformedBatchTests.valid[20]) | Int(MalformedBatchTests.valid[21]) << 8
        let secondFrame = MalformedBatchTests.firstFrame + frameLength + WireLimits.tagLength * fullFrame.tags.count
        for frame in [MalformedBatchTests.firstFrame, secondFrame] {
            for byte in 0...UInt8.max {
                let defined = switch at {
                case 60: RequestStatus(rawValue: byte) != nil
                case 61: DeploymentRing(rawValue: byte) != nil
                case 62: OutcomeBits(rawValue: byte).isValid
                default: SafetySeverity(rawValue: byte) != nil
                }
                var bytes = MalformedBatchTests.valid
                bytes[frame + at] = byte
                // No severity goes with no safety kinds (FORMAT.md), so severity 0 clears them.
                if at == 63 && byte == 0 { MalformedBatchTests.put16(&bytes, frame + 64, 0) }
                let error = MalformedBatchTests.error(of: bytes)
                #expect((error == nil) == defined, "\(field) = \(byte) in the frame at \(frame)")
                if let error {
                    let reason: WireRejectReason = at == 62 && byte & 0x80 != 0 ? .reservedBitsSet : .valueOutOfRange
                    #expect(error.reason == reason && error.field == field && error.offset == frame + at,
                            "\(field) = \(byte): \(error)")
                }
            }
        }
    }

    /// time_to_first_token is absent (0xFFFFFFFF) or at most total_latency, at the ends of
    /// the range too (the check adds one to both, in 64 bits).
    @Test func timeToFirstTokenAgainstTotalLatency() {
        let f = MalformedBatchTests.firstFrame
        let cases: [(ttft: UInt32, latency: UInt32, valid: Bool)] = [
            (0, 0, true), (1, 0, false), (.max, 0, true), (.max - 1, 0, false),
            (.max - 1, .max - 1, true), (.max - 1, .max, true), (.max, .max, true), (.max - 1, .max - 2, false),
            (2_400_000, 2_400_000, true), (2_400_001, 2_400_000, false),
        ]
        for c in cases {
            var bytes = MalformedBatchTests.valid
            MalformedBatchTests.put32(&bytes, f + 24, 0)  // queue time 0, below any latency
            MalformedBatchTests.put32(&bytes, f + 28, c.ttft)
            MalformedBatchTests.put32(&bytes, f + 32, c.latency)
            let error = MalformedBatchTests.error(of: bytes)
            #expect((error == nil) == c.valid, "ttft \(c.ttft), latency \(c.latency)")
            if let error { #expect(error.reason == .valueOutOfRange && error.field == "time_to_first_token") }
        }
    }
}
