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

    /// The encoder's branch-free check (`BatchEncoder.breaksRules`) agrees with `isValid`
    /// on every byte, for whole frames and for kept labels.
    @Test func theEncoderRefusesExactlyTheInvalidBytes() throws {
        let labels = try FrameLabels(model: "m")
        for byte in 0...255 {
            let outcome = OutcomeBits(rawValue: UInt8(byte))
            var frame = TraceFrame(eventTimeMicros: 1, model: "m", totalLatencyMicros: 10)
            frame.outcome = outcome
            let measures = FrameMeasures(eventTimeMicros: 1, totalLatencyMicros: 10, outcome: outcome)
            #expect(BatchEncoder.breaksRules(measures) == !outcome.isValid, "byte \(byte)")
            let encoder = BatchEncoder(capacity: 4_096)
            let wholeFrame = Result { () throws(WireError) in try encoder.append(frame) }
            let labeled = Result { () throws(WireError) in try encoder.append(labels, measures) }
            #expect(((try? wholeFrame.get()) != nil) == outcome.isValid, "byte \(byte)")
            #expect(((try? labeled.get()) != nil) == outcome.isValid, "byte \(byte)")
            #expect(encoder.frameCount == (outcome.isValid ? 2 : 0))
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
