import Testing
import TallyOTLP
import TallyWire

@Suite struct GenAISpanMapperTests {
    static let start: UInt64 = 1_700_000_000_000_000_000
    let mapper = GenAISpanMapper()

    func span(_ attributes: [OTLPAttribute], durationNanos: UInt64 = 2_000_000_000, status: Int64 = 0) -> OTLPSpan {
        OTLPSpan(name: "chat", startTimeUnixNano: Self.start, endTimeUnixNano: Self.start + durationNanos,
                 attributes: attributes, statusCode: status)
    }

    @Test func currentConventionsMapToEveryField() throws {
        var configuration = GenAIMappingConfiguration()
        configuration.tags = try GenAIMappingConfiguration.parseTags(["tenant=tenant.id", "provider=gen_ai.provider.name"])
        configuration.idSecret = "fleet-"
        let outcome = GenAISpanMapper(configuration: configuration).map(span([
            OTLPAttribute("gen_ai.operation.name", .string("chat")),
            OTLPAttribute("gen_ai.provider.name", .string("openai")),
            OTLPAttribute("gen_ai.request.model", .string("gpt-req")),
            OTLPAttribute("gen_ai.response.model", .string("gpt-resp")),
            OTLPAttribute("gen_ai.usage.input_tokens", .int(100)),
            OTLPAttribute("gen_ai.usage.output_tokens", .int(40)),
            OTLPAttribute("gen_ai.usage.cache_read.input_tokens", .int(60)),
            OTLPAttribute("gen_ai.usage.cache_creation.input_tokens", .int(30)),
            OTLPAttribute("gen_ai.usage.reasoning.output_tokens", .int(25)),
            OTLPAttribute("gen_ai.response.time_to_first_chunk", .double(0.25)),
            OTLPAttribute("gen_ai.response.finish_reasons", .array([.string("content_filter")])),
            OTLPAttribute("gen_ai.conversation.id", .string("conv-1")),
            OTLPAttribute("user.id", .string("alice")),
            OTLPAttribute("tally.ring", .string("canary")),
        ]), resource: [OTLPAttribute("service.version", .string("2024-06")), OTLPAttribute("tenant.id", .string("acme"))])
        var expected = TraceFrame(eventTimeMicros: Self.start / 1_000, model: "gpt-resp", modelVersion: "2024-06", route: "chat",
                                  ring: .canary, tags: [CohortTag("tenant", "acme"), CohortTag("provider", "openai")],
                                  timeToFirstTokenMicros: 250_000, totalLatencyMicros: 2_000_000,
                                  inputTokens: 100, outputTokens: 40, cachedInputTokens: 60,
                                  cacheCreationInputTokens: 30, reasoningOutputTokens: 25)
        expected.outcome = OutcomeBits(refusal: true)
        expected.userHash = IdentifierHash.hash("fleet-alice")
        expected.sessionHash = IdentifierHash.hash("fleet-conv-1")
        #expect(outcome == .frame(expected))
    }

    @Test func vllmsOlderNamesMap() throws {
        let outcome = mapper.map(span([
            OTLPAttribute("gen_ai.system", .string("vllm")),
            OTLPAttribute("gen_ai.request.model", .string("llama")),
            OTLPAttribute("gen_ai.usage.prompt_tokens", .int(7)),
            OTLPAttribute("gen_ai.usage.completion_tokens", .int(9)),
            OTLPAttribute("gen_ai.latency.time_in_queue", .double(0.001)),
            OTLPAttribute("gen_ai.latency.time_to_first_token", .double(0.0105)),
            OTLPAttribute("gen_ai.latency.e2e", .double(0.5)),
        ], durationNanos: 600_000_000), resource: [])
        let expected = TraceFrame(eventTimeMicros: Self.start / 1_000, model: "llama", tags: [CohortTag("provider", "vllm")],
                                  queueTimeMicros: 1_000, timeToFirstTokenMicros: 10_500, totalLatencyMicros: 500_000,
                                  inputTokens: 7, outputTokens: 9)
        #expect(outcome == .frame(expected))
    }

    @Test func spansWithoutGenAIAttributesAreSkipped() {
        #expect(mapper.map(span([OTLPAttribute("http.method", .string("GET"))]), resource: []) == .skipped(.notGenAI))
        // Resource attributes alone do not make a GenAI span.
        #expect(mapper.map(span([]), resource: [OTLPAttribute("gen_ai.system", .string("x"))]) == .skipped(.notGenAI))
    }

    @Test func errorsMapToStatusAndClass() throws {
        guard case .frame(let timeout) = mapper.map(span([OTLPAttribute("gen_ai.request.model", .string("m")),
                                                          OTLPAttribute("error.type", .string("timeout"))]), resource: []),
              case .frame(let failed) = mapper.map(span([OTLPAttribute("gen_ai.request.model", .string("m"))], status: 2),
                                                   resource: []),
              case .frame(let fine) = mapper.map(span([OTLPAttribute("gen_ai.request.model", .string("m"))], status: 1),
                                                 resource: [])
        else { Issue.record("not frames"); return }
        #expect(timeout.status == .timeout && timeout.errorClass == "timeout")
        #expect(failed.status == .error && failed.errorClass == nil)
        #expect(fine.status == .ok)
    }

    @Test(arguments: [
        ([OTLPAttribute("gen_ai.operation.name", .string("chat"))], GenAIRejectReason.noModel),
        ([OTLPAttribute("gen_ai.request.model", .string(""))], .badString),
        ([OTLPAttribute("gen_ai.request.model", .string(String(repeating: "x", count: 256)))], .badString),
        ([OTLPAttribute("gen_ai.request.model", .string("m")), OTLPAttribute("gen_ai.usage.input_tokens", .int(-1))], .tokensOutOfRange),
        ([OTLPAttribute("gen_ai.request.model", .string("m")), OTLPAttribute("gen_ai.usage.input_tokens", .int(1 << 33))],
         .tokensOutOfRange),
        ([OTLPAttribute("gen_ai.request.model", .string("m")), OTLPAttribute("gen_ai.usage.input_tokens", .string("12"))], .badType),
        ([OTLPAttribute("gen_ai.request.model", .string("m")), OTLPAttribute("gen_ai.usage.input_tokens", .int(5)),
          OTLPAttribute("gen_ai.usage.cache_read.input_tokens", .int(6))], .inconsistent),
        ([OTLPAttribute("gen_ai.request.model", .string("m")), OTLPAttribute("gen_ai.usage.input_tokens", .int(5)),
          OTLPAttribute("gen_ai.usage.cache_read.input_tokens", .int(3)),
          OTLPAttribute("gen_ai.usage.cache_creation.input_tokens", .int(3))], .inconsistent),
        ([OTLPAttribute("gen_ai.request.model", .string("m")), OTLPAttribute("gen_ai.usage.output_tokens", .int(5)),
          OTLPAttribute("gen_ai.usage.reasoning.output_tokens", .int(6))], .inconsistent),
        ([OTLPAttribute("gen_ai.request.model", .string("m")), OTLPAttribute("gen_ai.response.time_to_first_chunk", .double(3))],
         .inconsistent),
        ([OTLPAttribute("gen_ai.request.model", .string("m")), OTLPAttribute("gen_ai.latency.e2e", .double(-1))], .latencyOutOfRange),
        ([OTLPAttribute("gen_ai.request.model", .string("m")), OTLPAttribute("gen_ai.latency.e2e", .double(.nan))], .latencyOutOfRange),
        ([OTLPAttribute("gen_ai.request.model", .string("m")), OTLPAttribute("tally.ring", .string("blue"))], .badRing),
        ([OTLPAttribute("gen_ai.request.model", .array([]))], .badType),
    ] as [([OTLPAttribute], GenAIRejectReason)])
    func invalidSpansAreRejectedByReason(attributes: [OTLPAttribute], reason: GenAIRejectReason) {
        guard case .rejected(let got, let message) = mapper.map(span(attributes), resource: []) else {
            Issue.record("not rejected: \(attributes)")
            return
        }
        #expect(got == reason, "\(message)")
        #expect(!message.isEmpty)
    }

    @Test func badTimesAreRejected() {
        let model = [OTLPAttribute("gen_ai.request.model", .string("m"))]
        let backwards = OTLPSpan(startTimeUnixNano: 10, endTimeUnixNano: 5, attributes: model)
        let unset = OTLPSpan(startTimeUnixNano: 0, endTimeUnixNano: 5, attributes: model)
        let tooLong = OTLPSpan(startTimeUnixNano: 1, endTimeUnixNano: 1 + 5_000_000_000_000, attributes: model)
        if case .rejected(let r, _) = mapper.map(backwards, resource: []) { #expect(r == .badTime) } else { Issue.record("backwards") }
        if case .rejected(let r, _) = mapper.map(unset, resource: []) { #expect(r == .badTime) } else { Issue.record("unset") }
        if case .rejected(let r, _) = mapper.map(tooLong, resource: []) { #expect(r == .latencyOutOfRange) } else { Issue.record("long") }
    }

    @Test func tagConfigurationIsChecked() {
        #expect(throws: GenAIMappingConfigurationError.self) { try GenAIMappingConfiguration.parseTags(["tenant"]) }
        #expect(throws: GenAIMappingConfigurationError.self) { try GenAIMappingConfiguration.parseTags(["a=x", "a=y"]) }
        #expect(throws: GenAIMappingConfigurationError.self) { try GenAIMappingConfiguration.parseTags((0..<9).map { "k\($0)=a" }) }
    }

    /// Every frame the mapper returns is one the wire encoder accepts.
    @Test func mappedFramesEncode() throws {
        let encoder = BatchEncoder()
        let request = try OTLPJSONDecoder.decode(.init(JSONDecoderTests.export.utf8))
        let export = OTLPExport.map(request, mapper: mapper)
        #expect(export.frames.count == 1)
        for frame in export.frames { #expect(try encoder.append(frame)) }
    }
}
