import Testing
@testable import TallyWire

/// `OutcomeBits.isValid` is written as bit tests for speed; these tests hold it to the
/// definition in FORMAT.md (bit 7 zero, neither two-bit field 3) over every byte.
@Suite struct OutcomeBitsTests {
    @Test func isValidAgreesWithTheFieldsOnEveryByte() {
        var valid = 0
        for byte in 0...255 {
            let bits = OutcomeBits(rawValue: UInt8(byte))
            let byDefinition = byte & 0x80 == 0 && bits.task != nil && bits.feedback != nil
            #expect(bits.isValid == byDefinition, "byte \(byte)")
            if bits.isValid { valid += 1 }
        }
        // 8 flag combinations × 3 task outcomes × 3 feedback values.
        #expect(valid == 72)
    }

    @Test func theDecoderAcceptsExactlyTheValidBytes() {
        let at = MalformedBatchTests.firstFrame + FrameLayout.outcome
        for byte in 0...255 {
            let reason = MalformedBatchTests.corrupt { $0[at] = UInt8(byte) }
            let expected: WireRejectReason? = OutcomeBits(rawValue: UInt8(byte)).isValid ? nil
                : byte & 0x80 != 0 ? .reservedBitsSet : .valueOutOfRange
            #expect(reason == expected, "byte \(byte)")
        }
    }

    @Test func theInitialiserRoundTrips() {
        for task in [TaskOutcome.unknown, .success, .failure] {
            for feedback in [Feedback.none, .up, .down] {
                let bits = OutcomeBits(refusal: true, escalation: false, fallback: true, task: task, feedback: feedback)
                #expect(bits.isValid && bits.task == task && bits.feedback == feedback)
                #expect(bits.refusal && !bits.escalation && bits.fallback)
            }
        }
    }
}
