import Foundation
import Testing
import TallyOTLP

@Suite struct JSONDecoderTests {
    /// An export as the OTLP specification writes it: camelCase keys, hex ids, int64 as
    /// strings, integer enums.
    static let export = """
    {"resourceSpans":[{"resource":{"attributes":[{"key":"service.version","value":{"stringValue":"v7"}}]},
      "scopeSpans":[{"scope":{"name":"s"},"spans":[{
        "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","kind":3,
        "name":"chat m","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000250000000",
        "attributes":[
          {"key":"gen_ai.request.model","value":{"stringValue":"m"}},
          {"key":"gen_ai.usage.input_tokens","value":{"intValue":"12"}},
          {"key":"gen_ai.usage.output_tokens","value":{"intValue":30}},
          {"key":"gen_ai.response.time_to_first_chunk","value":{"doubleValue":0.125}},
          {"key":"stream","value":{"boolValue":true}},
          {"key":"gen_ai.response.finish_reasons","value":{"arrayValue":{"values":[{"stringValue":"stop"}]}}}],
        "status":{"code":2,"message":"boom"}}]}]}]}
    """

    @Test func decodesTheSpecificationsJSON() throws {
        let request = try OTLPJSONDecoder.decode(Data(Self.export.utf8))
        #expect(request.resourceSpans.first?.resourceAttributes == [OTLPAttribute("service.version", .string("v7"))])
        let span = try #require(request.resourceSpans.first?.spans.first)
        #expect(span.name == "chat m")
        #expect(span.startTimeUnixNano == 1_700_000_000_000_000_000)
        #expect(span.endTimeUnixNano == 1_700_000_000_250_000_000)
        #expect(span.statusCode == 2)
        #expect(span.statusMessage == "boom")
        #expect(span.attributes == [
            OTLPAttribute("gen_ai.request.model", .string("m")),
            OTLPAttribute("gen_ai.usage.input_tokens", .int(12)),
            OTLPAttribute("gen_ai.usage.output_tokens", .int(30)),
            OTLPAttribute("gen_ai.response.time_to_first_chunk", .double(0.125)),
            OTLPAttribute("stream", .bool(true)),
            OTLPAttribute("gen_ai.response.finish_reasons", .array([.string("stop")])),
        ])
    }

    @Test(arguments: [
        "not json",
        "[1, 2]",
        #"{"resourceSpans": 3}"#,
        #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"12x"}]}]}]}"#,
        #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":-5}]}]}]}"#,
        #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a","value":{"intValue":1.5}}]}]}]}]}"#,
        #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a","value":{"boolValue":"yes"}}]}]}]}]}"#,
        #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":7}]}]}]}"#,
    ])
    func malformedJSONIsBadJSON(text: String) {
        do {
            _ = try OTLPJSONDecoder.decode(Data(text.utf8))
            Issue.record("decoded \(text)")
        } catch {
            #expect(error.reason == .badJSON, "\(error)")
        }
    }

    @Test func enumNamesAndEmptyRequestsAreAccepted() throws {
        let named = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"status":{"code":"STATUS_CODE_ERROR"}}]}]}]}"#
        #expect(try OTLPJSONDecoder.decode(Data(named.utf8)).resourceSpans[0].spans[0].statusCode == 2)
        #expect(try OTLPJSONDecoder.decode(Data("{}".utf8)).spanCount == 0)
    }

    @Test func deepArraysAreRefused() {
        var value = #"{"stringValue":"x"}"#
        for _ in 0..<20 { value = #"{"arrayValue":{"values":[\#(value)]}}"# }
        let text = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a","value":\#(value)}]}]}]}]}"#
        do {
            _ = try OTLPJSONDecoder.decode(Data(text.utf8))
            Issue.record("decoded 20 nested arrays")
        } catch {
            #expect(error.reason == .tooDeep)
        }
    }
}
