import Testing
import TallyWire

/// Inputs the fuzz target `batch` (Fuzz/README.md) found, kept as tests.
@Suite struct FuzzRegressionTests {
    static func decode(_ bytes: [UInt8]) -> Result<[TraceFrame], WireError> {
        bytes.withUnsafeBytes { buffer -> Result<[TraceFrame], WireError> in
            do throws(WireError) {
                let view = try BatchDecoder().decode(buffer)
                return .success(view.frames.map { view.traceFrame($0) })
            } catch { return .failure(error) }
        }
    }

    /// A batch whose frame has tag keys "ka" and "kb"; then "kb" in the string table is
    /// overwritten with "ka", so the table holds "ka" twice.
    static func batchWithKeyStoredTwice() throws -> [UInt8] {
        let encoder = BatchEncoder(producerID: 1)
        let frame = TraceFrame(eventTimeMicros: 1, model: "m", tags: [CohortTag("ka", "x"), CohortTag("kb", "y")],
                               totalLatencyMicros: 1)
        #expect(try encoder.append(frame))
        var bytes = Array(encoder.finish(sequence: 1))
        let kb: [UInt8] = [2, 0x6B, 0x62]  // length 2, "kb"
        let at = try #require((0...(bytes.count - 3)).last { Array(bytes[$0..<($0 + 3)]) == kb })
        bytes[at + 2] = 0x61  // "ka"
        return bytes
    }

    /// Found by `batch` (its round trip): two tags whose key refs differ but name equal
    /// strings passed the decoder, which compared refs only; FORMAT.md asks for distinct
    /// keys, and the encoder refused to write the frame back.
    @Test func tagKeysAreDistinctAsStringsNotOnlyAsRefs() throws {
        let bytes = try Self.batchWithKeyStoredTwice()
        guard case .failure(let error) = Self.decode(bytes) else {
            Issue.record("a frame with the key \"ka\" twice was accepted")
            return
        }
        #expect(error.reason == .duplicateTagKey)
        #expect(error.frame == 0 && error.field == "tag[1].key")
    }

    /// The decoder remembers which refs name which key text per batch only: one decoder
    /// given a clean batch, then the batch with "ka" stored twice, then the clean one
    /// again, accepts, rejects, accepts (the refs are the same in both batches).
    @Test func keyTextsAreNotCarriedFromOneBatchToTheNext() throws {
        let encoder = BatchEncoder(producerID: 1)
        let frame = TraceFrame(eventTimeMicros: 1, model: "m", tags: [CohortTag("ka", "x"), CohortTag("kb", "y")],
                               totalLatencyMicros: 1)
        #expect(try encoder.append(frame))
        let clean = Array(encoder.finish(sequence: 1))
        let twice = try Self.batchWithKeyStoredTwice()
        let decoder = BatchDecoder()
        func reason(_ bytes: [UInt8]) -> WireRejectReason? {
            bytes.withUnsafeBytes { buffer in
                do throws(WireError) {
                    _ = try decoder.decode(buffer)
                    return nil
                } catch { return error.reason }
            }
        }
        #expect(reason(clean) == nil)
        #expect(reason(twice) == .duplicateTagKey)
        #expect(reason(clean) == nil)
        #expect(reason(twice) == .duplicateTagKey)
    }

    /// The same string twice in the table stays valid where no frame repeats a key.
    @Test func aStringStoredTwiceIsStillValid() throws {
        var bytes = try Self.batchWithKeyStoredTwice()
        // Make tag 1's key ref point at the value "y" (ref of tag 1's value), so the keys differ.
        let tags = WireLimits.headerLength + WireLimits.encodedFrameLength
        bytes[tags + 4] = bytes[tags + 6]
        bytes[tags + 5] = bytes[tags + 7]
        let frames = try Self.decode(bytes).get()
        #expect(frames.count == 1 && frames[0].tags == [CohortTag("ka", "x"), CohortTag("y", "y")])
    }
}
