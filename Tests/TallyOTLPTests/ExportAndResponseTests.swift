import Foundation
import Testing
import TallyOTLP

@Suite struct ExportAndResponseTests {
    typealias B = ProtobufBuilder

    @Test func exportCountsFramesSkipsAndRejections() throws {
        let model = B.keyValue("gen_ai.request.model", B.string("m"))
        let bytes = B.request(resource: [], spans: [
            B.span(name: "ok", start: 1_000_000, end: 3_000_000, attributes: [model]),
            B.span(name: "http", start: 1_000_000, end: 3_000_000, attributes: [B.keyValue("http.method", B.string("GET"))]),
            B.span(name: "bad", start: 1_000_000, end: 3_000_000, attributes: [model, B.keyValue("gen_ai.usage.input_tokens", B.int(-4))]),
        ])
        let export = OTLPExport.map(try OTLPProtobufDecoder.decode(bytes), mapper: GenAISpanMapper())
        #expect(export.spans == 3)
        #expect(export.frames.map(\.totalLatencyMicros) == [2_000])
        #expect(export.skipped == [.notGenAI: 1])
        #expect(export.rejected == [.tokensOutOfRange: 1])
        #expect(export.rejectedSpans == 1)
        #expect(export.firstRejection?.hasPrefix("span bad: tokens_out_of_range") == true)
    }

    @Test func partialSuccessInProtobuf() {
        // ExportTraceServiceResponse { partial_success = 1 { rejected_spans = 1: 3, error_message = 2: "no" } }
        let bytes = OTLPResponseEncoder.success(rejectedSpans: 3, errorMessage: "no", encoding: .protobuf)
        #expect(bytes == [0x0A, 0x06, 0x08, 0x03, 0x12, 0x02, 0x6E, 0x6F])
        #expect(OTLPResponseEncoder.success(rejectedSpans: 0, errorMessage: nil, encoding: .protobuf).isEmpty)
    }

    @Test func partialSuccessInJSON() throws {
        let bytes = OTLPResponseEncoder.success(rejectedSpans: 3, errorMessage: "no", encoding: .json)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let partial = try #require(object["partialSuccess"] as? [String: Any])
        #expect(partial["rejectedSpans"] as? String == "3")
        #expect(partial["errorMessage"] as? String == "no")
        #expect(OTLPResponseEncoder.success(rejectedSpans: 0, errorMessage: nil, encoding: .json) == Array("{}".utf8))
    }

    @Test func statusInProtobuf() {
        // google.rpc.Status { code = 1: 3, message = 2: "x" }
        #expect(OTLPResponseEncoder.status(code: 3, message: "x", encoding: .protobuf) == [0x08, 0x03, 0x12, 0x01, 0x78])
    }

    @Test func contentTypes() {
        #expect(OTLPEncoding(contentType: "application/x-protobuf") == .protobuf)
        #expect(OTLPEncoding(contentType: "Application/JSON; charset=utf-8") == .json)
        #expect(OTLPEncoding(contentType: "text/plain") == nil)
        #expect(OTLPEncoding(contentType: nil) == nil)
    }
}
