import TallyOTLP
import TallyWire

/// Fuzz target `otlp`: bodies of `POST /v1/traces` as tallyd's OTLP endpoint receives
/// them (Sources/TallyOTLP/OTLP.md). The input's first byte says how the rest is read:
/// bit 0 the encoding (0 protobuf, 1 JSON), bit 1 a gzip body; the other bits are ignored.
///
/// Properties: decoding and inflating never trap; an inflated body is never longer than
/// the limit it was given; mapping accounts for every span (a frame, skipped or
/// rejected); and every frame the mapper makes is one the wire encoder accepts, so no
/// OTLP span can put an invalid frame into the engine. libFuzzer calls the target from
/// one thread only.
let mapper = GenAISpanMapper()
nonisolated(unsafe) let encoder = BatchEncoder(capacity: WireLimits.maxBatchBytes)
/// Bytes a gzip body may inflate to (tallyd's default `otlp_max_body_bytes` is 4 MiB;
/// smaller here so that each execution stays fast).
let inflateLimit = 1 << 20

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOTLP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let mode = data[0]
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let encoding: OTLPEncoding = mode & 1 == 0 ? .protobuf : .json
    var inflated: [UInt8]?
    if mode & 2 != 0 {
        do {
            inflated = try GzipInflater.inflate(body, limit: inflateLimit)
        } catch {
            return 0
        }
        fuzzCheck(inflated!.count <= inflateLimit, "gzip inflated \(inflated!.count) bytes past its limit")
    }
    let request: OTLPTraceRequest
    do {
        if let inflated {
            request = try inflated.withUnsafeBytes { raw in try OTLPExport.decode(raw, encoding: encoding) }
        } else {
            request = try OTLPExport.decode(body, encoding: encoding)
        }
    } catch {
        return 0
    }
    let export = OTLPExport.map(request, mapper: mapper)
    fuzzCheck(export.spans == request.spanCount, "mapped \(export.spans) spans of \(request.spanCount)")
    let skipped = export.skipped.values.reduce(0, +)
    fuzzCheck(export.frames.count + skipped + export.rejectedSpans == export.spans,
              "frames \(export.frames.count) + skipped \(skipped) + rejected \(export.rejectedSpans) ≠ spans \(export.spans)")
    encoder.reset()
    for frame in export.frames {
        do {
            if try encoder.append(frame) { continue }
            encoder.reset()
            let fits = try encoder.append(frame)
            fuzzCheck(fits, "a mapped frame does not fit an empty 1 MiB batch")
        } catch {
            fuzzFailure("the wire encoder refuses a frame the mapper made: \(error) \(frame)")
        }
    }
    return 0
}

/// Valid bodies in both encodings (mode byte first): GenAI spans with every mapped
/// attribute, older vLLM names, a span that is skipped and one that is rejected.
func fuzzSeeds() -> [[UInt8]] {
    let json = """
        {"resourceSpans":[{"resource":{"attributes":[{"key":"service.version","value":{"stringValue":"v7"}},
          {"key":"tally.ring","value":{"stringValue":"canary"}}]},
          "scopeSpans":[{"scope":{"name":"s"},"spans":[
          {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","kind":3,"name":"chat m",
           "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000250000000",
           "attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"m"}},
             {"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
             {"key":"gen_ai.usage.input_tokens","value":{"intValue":"120"}},
             {"key":"gen_ai.usage.output_tokens","value":{"intValue":30}},
             {"key":"gen_ai.usage.cache_read.input_tokens","value":{"intValue":"60"}},
             {"key":"gen_ai.usage.cache_creation.input_tokens","value":{"intValue":"20"}},
             {"key":"gen_ai.usage.reasoning.output_tokens","value":{"intValue":"10"}},
             {"key":"gen_ai.response.time_to_first_chunk","value":{"doubleValue":0.125}},
             {"key":"gen_ai.conversation.id","value":{"stringValue":"c-1"}},
             {"key":"gen_ai.response.finish_reasons","value":{"arrayValue":{"values":[{"stringValue":"content_filter"}]}}}],
           "status":{"code":2,"message":"boom"}},
          {"traceId":"5b8efff798038103d269b633813fc60d","spanId":"eee19b7ec3c1b175","name":"GET /health",
           "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001000000",
           "attributes":[{"key":"http.request.method","value":{"stringValue":"GET"}}]},
          {"traceId":"5b8efff798038103d269b633813fc60e","spanId":"eee19b7ec3c1b176","name":"chat bad",
           "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001000000",
           "attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"m"}},
             {"key":"gen_ai.usage.input_tokens","value":{"intValue":"5"}},
             {"key":"gen_ai.usage.cache_read.input_tokens","value":{"intValue":"6"}}]}]}]}]}
        """
    typealias B = ProtobufBuilder
    let protobuf = B.request(
        resource: [B.keyValue("service.version", B.string("2024-06")), B.keyValue("tenant.id", B.string("acme"))],
        spans: [B.span(name: "chat llama", start: 1_700_000_000_000_000_000, end: 1_700_000_000_600_000_000,
                       attributes: [B.keyValue("gen_ai.system", B.string("vllm")),
                                    B.keyValue("gen_ai.request.model", B.string("llama")),
                                    B.keyValue("gen_ai.usage.prompt_tokens", B.int(7)),
                                    B.keyValue("gen_ai.usage.completion_tokens", B.int(9)),
                                    B.keyValue("gen_ai.latency.time_in_queue", B.double(0.001)),
                                    B.keyValue("gen_ai.latency.time_to_first_token", B.double(0.0105)),
                                    B.keyValue("gen_ai.latency.e2e", B.double(0.5)),
                                    B.keyValue("error.type", B.string("timeout")),
                                    B.keyValue("gen_ai.response.finish_reasons", B.array([B.string("stop")]))],
                       statusCode: 2),
                B.span(name: "db query", start: 1, end: 2, attributes: [B.keyValue("db.system", B.string("postgresql"))])])
    return [[0] + protobuf, [1] + Array(json.utf8), [0], [1] + Array("{}".utf8)]
}
