import Foundation
import Logging
import Testing
import TallyCore
@testable import TallyHTTP
import TallyOTLP

/// The OTLP endpoint's back-pressure (OTLP.md): when the ingest queue has no room for a
/// request's frames, the request is refused whole with 503 and `Retry-After`, counted,
/// and nothing of it is used; once the queue drains the same request is accepted.
@Suite(.serialized) struct OTLPQueueFullTests {
    /// An OTLP/JSON export with `spans` GenAI spans of model `m`.
    static func export(spans: Int) -> [UInt8] {
        let one = """
        {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"chat m",
         "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000250000000",
         "attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"m"}},
                       {"key":"gen_ai.usage.input_tokens","value":{"intValue":"12"}}]}
        """
        let body = #"{"resourceSpans":[{"scopeSpans":[{"spans":["# + Array(repeating: one, count: spans).joined(separator: ",") + "]}]}]}"
        return Array(body.utf8)
    }

    @Test func aFullIngestQueueAnswers503WithRetryAfterAndUsesNothing() throws {
        let engine = AggregationEngine()
        engine.start()
        defer { _ = engine.stop() }
        let worker = OTLPIngestWorker(port: engine.makeIngestPort(), capacityFrames: 3)
        let server = OTLPServer(host: "127.0.0.1", port: 0, maxBodyBytes: 1 << 20, mapper: GenAISpanMapper(), worker: worker,
                                logger: Logger(label: "otlp-test"))
        try server.start(timeoutSeconds: 60)  // generous: the whole test suite shares 2 cores
        defer { server.stop() }
        worker.holdsQueue.store(true, ordering: .relaxed)
        let json = ["Content-Type": "application/json"]

        // An empty queue takes any request; the next one no longer fits (2 + 2 > 3).
        let first = try HTTPGet.post(port: server.localPort, "/v1/traces", headers: json, body: Self.export(spans: 2))
        #expect(first.status == 200)
        let refused = try HTTPGet.post(port: server.localPort, "/v1/traces", headers: json, body: Self.export(spans: 2))
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "1")
        #expect(refused.json?["code"] as? Int == 14, "google.rpc.Status UNAVAILABLE: \(refused.body)")
        #expect((refused.json?["message"] as? String)?.contains("ingest queue full") == true)
        var counters = server.counters()
        #expect(counters["otlp.refused.queue_full"] == 1)
        #expect(counters["otlp.queued"] == 2, "the refused request queued nothing")
        #expect(counters["otlp.spans"] == 2, "the refused request's spans are not counted as received")

        // The queue drains; the client's retry is taken whole.
        worker.holdsQueue.store(false, ordering: .relaxed)
        let deadline = Date().addingTimeInterval(10)
        while server.counters()["otlp.frames", default: 0] < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        let retried = try HTTPGet.post(port: server.localPort, "/v1/traces", headers: json, body: Self.export(spans: 2))
        #expect(retried.status == 200)
        while server.counters()["otlp.frames", default: 0] < 4 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        counters = server.counters()
        #expect(counters["otlp.frames"] == 4, "2 + 2 frames ingested, none of the refused request")
        #expect(counters["otlp.refused.queue_full"] == 1)
        #expect(counters["otlp.engine_dropped"] == 0)
    }
}
