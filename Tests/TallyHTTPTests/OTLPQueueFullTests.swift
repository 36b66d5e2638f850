import Foundation
import Hummingbird
import Logging
import NIOCore
import Testing
import TallyCore
@testable import TallyHTTP
import TallyOTLP

/// The OTLP endpoint's back-pressure (OTLP.md): when the ingest queue has no room for a
/// request's frames, or the engine dropped OTLP frames in the last second, the request
/// is refused whole with 503 and `Retry-After`, counted, and nothing of it is used.
///
/// The requests go to the endpoint's handler directly (the one its router calls), not
/// over a socket: an in-process Hummingbird listener runs on Swift's cooperative pool,
/// which this test process's synchronous tests can hold for minutes (2 threads on this
/// machine). The listener itself is exercised by `python/otlp-tests` against a real tallyd.
@Suite struct OTLPQueueFullTests {
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

    /// `POST /v1/traces` with a JSON export of `spans` spans, through the endpoint's handler.
    static func post(_ server: OTLPServer, spans: Int) async -> Response {
        let head = HTTPRequest(method: .post, scheme: "http", authority: "127.0.0.1", path: "/v1/traces",
                               headerFields: [.contentType: "application/json"])
        return await server.handle(Request(head: head, body: RequestBody(buffer: ByteBuffer(bytes: export(spans: spans)))))
    }

    static func server(_ worker: OTLPIngestWorker) -> OTLPServer {
        OTLPServer(host: "127.0.0.1", port: 0, maxBodyBytes: 1 << 20, mapper: GenAISpanMapper(), worker: worker,
                   logger: Logger(label: "otlp-test"))
    }

    /// Waits (≤ 10 s, without blocking a thread) until `condition` holds.
    static func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<1_000 where !condition() { try? await Task.sleep(nanoseconds: 10_000_000) }
        return condition()
    }

    @Test func aFullIngestQueueAnswers503WithRetryAfterAndUsesNothing() async throws {
        let engine = AggregationEngine()
        engine.start()
        defer { _ = engine.stop() }
        let worker = OTLPIngestWorker(port: engine.makeIngestPort(), capacityFrames: 3)
        worker.start()
        defer { worker.stop() }
        let server = Self.server(worker)
        worker.holdsQueue.store(true, ordering: .relaxed)

        // An empty queue takes any request; the next one no longer fits (2 + 2 > 3).
        #expect(await Self.post(server, spans: 2).status == .ok)
        let refused = await Self.post(server, spans: 2)
        #expect(refused.status == .serviceUnavailable)
        #expect(refused.headers[.retryAfter] == "1")
        #expect(refused.headers[.contentType] == "application/json")
        var counters = server.counters()
        #expect(counters["otlp.refused.queue_full"] == 1)
        #expect(counters["otlp.queued"] == 2, "the refused request queued nothing")
        #expect(counters["otlp.spans"] == 2, "the refused request's spans are not counted as received")

        // The queue drains; the client's retry is taken whole.
        worker.holdsQueue.store(false, ordering: .relaxed)
        #expect(await Self.eventually { server.counters()["otlp.frames", default: 0] >= 2 })
        #expect(await Self.post(server, spans: 2).status == .ok)
        #expect(await Self.eventually { server.counters()["otlp.frames", default: 0] >= 4 })
        counters = server.counters()
        #expect(counters["otlp.frames"] == 4, "2 + 2 frames ingested, none of the refused request")
        #expect(counters["otlp.refused.queue_full"] == 1)
        #expect(counters["otlp.engine_dropped"] == 0)
    }

    /// An engine that drops OTLP frames (here: stopped) makes the endpoint answer 503 for
    /// a while (1 s by default) instead of accepting frames it would drop after the 200.
    /// The refusal is checked with a long window and the expiry with a short one, so that
    /// a slow machine can only make the waits longer, never change the outcome.
    @Test func anEngineThatDropsMakesTheEndpointAnswer503ForAWhile() async throws {
        let engine = AggregationEngine()
        engine.start()
        _ = engine.stop()
        for window in [600.0, 0.05] {
            let worker = OTLPIngestWorker(port: engine.makeIngestPort(), saturationSeconds: window)
            worker.start()
            defer { worker.stop() }
            let server = Self.server(worker)
            #expect(await Self.post(server, spans: 3).status == .ok, "nothing was dropped yet")
            #expect(await Self.eventually { server.counters()["otlp.engine_dropped", default: 0] >= 3 })
            #expect(server.counters()["otlp.engine_dropped"] == 3)
            if window > 1 {
                let refused = await Self.post(server, spans: 3)
                #expect(refused.status == .serviceUnavailable)
                #expect(refused.headers[.retryAfter] == "1")
                #expect(server.counters()["otlp.refused.engine_full"] == 1)
                #expect(server.counters()["otlp.spans"] == 3, "the refused request's spans are not counted as received")
            } else {
                // Past the window the endpoint takes requests again.
                try await Task.sleep(nanoseconds: 200_000_000)
                #expect(await Self.post(server, spans: 3).status == .ok)
                #expect(server.counters()["otlp.refused.engine_full"] == 0)
            }
        }
    }
}
