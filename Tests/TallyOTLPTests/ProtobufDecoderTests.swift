import Testing
import TallyOTLP

@Suite struct ProtobufDecoderTests {
    typealias B = ProtobufBuilder

    @Test func decodesResourceSpansAttributesAndStatus() throws {
        let bytes = B.request(
            resource: [B.keyValue("service.version", B.string("v7"))],
            spans: [B.span(name: "chat m", start: 1_700_000_000_000_000_000, end: 1_700_000_000_250_000_000,
                           attributes: [B.keyValue("gen_ai.request.model", B.string("m")),
                                        B.keyValue("gen_ai.usage.input_tokens", B.int(12)),
                                        B.keyValue("gen_ai.response.time_to_first_chunk", B.double(0.125)),
                                        B.keyValue("flag", B.bool(true)),
                                        B.keyValue("gen_ai.response.finish_reasons", B.array([B.string("stop"), B.int(-3)]))],
                           statusCode: 2)])
        let request = try OTLPProtobufDecoder.decode(bytes)
        #expect(request.resourceSpans.count == 1)
        #expect(request.resourceSpans[0].resourceAttributes == [OTLPAttribute("service.version", .string("v7"))])
        let span = try #require(request.resourceSpans[0].spans.first)
        #expect(span.name == "chat m")
        #expect(span.startTimeUnixNano == 1_700_000_000_000_000_000)
        #expect(span.endTimeUnixNano == 1_700_000_000_250_000_000)
        #expect(span.statusCode == 2)
        #expect(span.attributes == [
            OTLPAttribute("gen_ai.request.model", .string("m")),
            OTLPAttribute("gen_ai.usage.input_tokens", .int(12)),
            OTLPAttribute("gen_ai.response.time_to_first_chunk", .double(0.125)),
            OTLPAttribute("flag", .bool(true)),
            OTLPAttribute("gen_ai.response.finish_reasons", .array([.string("stop"), .int(-3)])),
        ])
    }

    @Test func skipsUnknownFieldsOfEveryWireType() throws {
        var span = B.span(name: "s", start: 1, end: 2, attributes: [])
        var extra = B()
        extra.varintField(100, 12345)        // varint
        extra.fixed64Field(101, 7)           // i64
        extra.bytesField(102, [1, 2, 3])     // len
        extra.tag(103, 5)                    // i32
        extra.bytes += [9, 9, 9, 9]
        span += extra.bytes
        let request = try OTLPProtobufDecoder.decode(B.request(resource: [], spans: [span]))
        #expect(request.resourceSpans[0].spans[0].name == "s")
        #expect(request.resourceSpans[0].spans[0].endTimeUnixNano == 2)
    }

    @Test func emptyBodyIsAnEmptyRequest() throws {
        #expect(try OTLPProtobufDecoder.decode([UInt8]()).resourceSpans.isEmpty)
    }

    @Test(arguments: [
        ([0x0A, 0x05, 0x01], OTLPDecodeError.Reason.truncated),                 // length 5, 1 byte present
        ([0x0A], .truncated),                                                   // length missing
        ([0x10] + [UInt8](repeating: 0xFF, count: 11), .badVarint),             // field 2: an 11-byte varint
        ([0x0B], .badWireType),                                                 // field 1, wire type 3 (group)
        ([0x0E], .badWireType),                                                 // wire type 6
        ([0x00, 0x00], .badFieldNumber),                                        // field 0
        ([0x11, 1, 2, 3], .truncated),                                          // field 2 fixed64 of 3 bytes
        ([0x08, 0x01], .badWireType),                                           // resource_spans as a varint
    ] as [([UInt8], OTLPDecodeError.Reason)])
    func malformedBytesThrowWithAReason(bytes: [UInt8], reason: OTLPDecodeError.Reason) {
        #expect(throws: OTLPDecodeError.self) { try OTLPProtobufDecoder.decode(bytes) }
        do {
            _ = try OTLPProtobufDecoder.decode(bytes)
        } catch {
            #expect(error.reason == reason, "\(error)")
        }
    }

    @Test func invalidUTF8IsBadString() {
        let span = B.message { $0.bytesField(5, [0xC3, 0x28]) }  // name: invalid UTF-8
        do {
            _ = try OTLPProtobufDecoder.decode(B.request(resource: [], spans: [span]))
            Issue.record("decoded invalid UTF-8")
        } catch {
            #expect(error.reason == .badString)
        }
    }

    @Test func deepArraysAreRefused() {
        var value = B.string("leaf")
        for _ in 0..<20 { value = B.array([value]) }
        let span = B.span(name: "s", start: 1, end: 2, attributes: [B.keyValue("deep", value)])
        do {
            _ = try OTLPProtobufDecoder.decode(B.request(resource: [], spans: [span]))
            Issue.record("decoded 20 nested arrays")
        } catch {
            #expect(error.reason == .tooDeep)
        }
    }

    @Test func tooManyAttributesAreRefused() {
        let attributes = (0...OTLPDecodeLimits.maxAttributes).map { B.keyValue("k\($0)", B.int(1)) }
        do {
            _ = try OTLPProtobufDecoder.decode(B.request(resource: attributes, spans: []))
            Issue.record("decoded \(attributes.count) attributes")
        } catch {
            #expect(error.reason == .overLimit)
        }
    }

    /// Every prefix of a valid request either decodes or throws; none traps.
    @Test func everyTruncationIsHandled() throws {
        let bytes = B.request(resource: [B.keyValue("service.version", B.string("v1"))],
                              spans: [B.span(name: "chat", start: 10, end: 20,
                                             attributes: [B.keyValue("gen_ai.request.model", B.string("m"))], statusCode: 1)])
        var failures = 0
        for length in 0..<bytes.count {
            do { _ = try OTLPProtobufDecoder.decode(Array(bytes[0..<length])) } catch { failures += 1 }
        }
        #expect(failures > bytes.count / 2)
        #expect(try OTLPProtobufDecoder.decode(bytes).spanCount == 1)
    }
}
