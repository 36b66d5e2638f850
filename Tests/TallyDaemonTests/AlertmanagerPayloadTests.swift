import Foundation
import Testing
@testable import TallyDaemon
@testable import TallyIndex
import TallyCore

/// The body the alert sinks post (Alertmanager API v2 `postableAlerts`) and the HTTP
/// client, without Alertmanager: a loopback listener stands in for it.
@Suite struct AlertmanagerPayloadTests {
    /// 2026-12-01T10:38:50Z.
    static let start: UInt64 = 1_796_121_530_000_000

    static func alert(_ name: String, scope: String, state: String = "firing", owner: String = "inference-platform",
                      value: Double? = 6.71, threshold: Double? = 4.0, endsAt: UInt64? = nil) -> Alert {
        Alert(fingerprint: Alert.fingerprint(name + "|" + scope), name: name, scope: scope, state: state, severity: "page",
              value: value, threshold: threshold, light: .red, owner: owner, action: "freeze rollouts",
              summary: "latency_p95 6.71 s in \(scope)", startsAtMicros: start, endsAtMicros: endsAt)
    }

    @Test func firingAlertsCarryLabelsAnnotationsAndStartsAt() throws {
        let firing = Self.alert("kpi:latency_p95", scope: "model=alpha,ring=canary")
        let pending = Self.alert("kpi:error_rate", scope: "model=alpha,ring=canary", state: "pending")
        let alerts = PostableAlert.alerts(collector: "edge 1", open: [firing, pending], events: [])
        try #require(alerts.count == 1, "pending alerts are not sent")
        let posted = alerts[0]
        #expect(posted.labels == [
            "alertname": "kpi_latency_p95", "tally_alert": "kpi:latency_p95", "severity": "page",
            "scope": "model=alpha,ring=canary", "fingerprint": firing.fingerprint, "owner": "inference-platform",
            "model": "alpha", "ring": "canary",
        ])
        #expect(posted.annotations == ["summary": firing.summary, "action": "freeze rollouts", "value": "6.71", "threshold": "4.0"])
        #expect(posted.startsAt == "2026-12-01T10:38:50Z")
        #expect(posted.endsAt == nil)
        #expect(posted.generatorURL == "http://tally/edge%201/alerts/\(firing.fingerprint)")
        #expect(URL(string: posted.generatorURL)?.scheme == "http")
    }

    @Test func resolvedEventsCarryTheSameLabelsAndEndsAt() throws {
        let firing = Self.alert("canary:roll_back", scope: "model=alpha,ring=canary", owner: "release", value: nil, threshold: nil)
        let resolvedAt = Self.start + 12_500_000
        var resolved = firing
        resolved.state = "resolved"
        resolved.endsAtMicros = resolvedAt
        let events = [AlertEvent(state: "resolved", alert: resolved, atMicros: resolvedAt),
                      AlertEvent(state: "cleared", alert: Self.alert("kpi:error_rate", scope: "fleet", state: "cleared"),
                                 atMicros: resolvedAt)]
        let before = PostableAlert.alerts(collector: "c", open: [firing], events: [])
        let after = PostableAlert.alerts(collector: "c", open: [], events: events)
        try #require(before.count == 1 && after.count == 1, "cleared (never fired) events are not sent")
        #expect(after[0].labels == before[0].labels)
        #expect(after[0].labels["alertname"] == "canary_roll_back")
        #expect(after[0].annotations["value"] == nil && after[0].annotations["threshold"] == nil)
        #expect(after[0].startsAt == "2026-12-01T10:38:50Z")
        #expect(after[0].endsAt == "2026-12-01T10:39:02.500000Z")
    }

    @Test func scopeLabelsAreSplitOutAndEmptyOnesLeftOut() {
        let labels = { (scope: String, owner: String) in PostableAlert.labels(Self.alert("kpi:refusal_rate", scope: scope, owner: owner)) }
        #expect(labels("lang=de", "x")["cohort_lang"] == "de")
        #expect(labels("dc-region=eu", "x")["cohort_dc_region"] == "eu")
        #expect(labels("model=m,version=", "x")["version"] == nil)
        #expect(labels("model=m,version=v2", "x")["version"] == "v2")
        #expect(labels("prompt_version=p1", "x")["prompt_version"] == "p1")
        #expect(labels("fleet", "")["owner"] == nil)
        #expect(labels("fleet", "").keys.sorted() == ["alertname", "fingerprint", "scope", "severity", "tally_alert"])
        #expect(labels("lang", "x").keys.sorted() == ["alertname", "fingerprint", "owner", "scope", "severity", "tally_alert"])
    }

    @Test func timesAreRFC3339InUTC() {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        for seconds: UInt64 in [0, 951_782_400, 1_709_164_800, 1_796_121_530, 4_102_444_799, 4_107_542_400] {
            let expected = formatter.string(from: Date(timeIntervalSince1970: Double(seconds)))
            #expect(PostableAlert.rfc3339(micros: seconds * 1_000_000) == expected)
        }
        #expect(PostableAlert.rfc3339(micros: 1_796_121_530_000_042) == "2026-12-01T10:38:50.000042Z")
    }

    @Test func theBodyIsAJSONArrayOfPostableAlerts() throws {
        let firing = Self.alert("kpi:latency_p95", scope: "model=alpha,ring=canary")
        var resolved = Self.alert("kpi:error_rate", scope: "fleet", state: "resolved", endsAt: Self.start + 3_000_000)
        resolved.value = 0.004
        let body = try PostableAlert.encode(PostableAlert.alerts(
            collector: "c", open: [firing], events: [AlertEvent(state: "resolved", alert: resolved, atMicros: Self.start + 3_000_000)]))
        let array = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]])
        #expect(array.count == 2)
        #expect(Set(array[0].keys) == ["labels", "annotations", "startsAt", "generatorURL"])
        #expect(Set(array[1].keys) == ["labels", "annotations", "startsAt", "endsAt", "generatorURL"])
        #expect(array[1]["endsAt"] as? String == "2026-12-01T10:38:53Z")
        #expect((array[1]["labels"] as? [String: String])?["alertname"] == "kpi_error_rate")
        #expect(try JSONDecoder().decode([PostableAlert].self, from: Data(body)).count == 2)
    }

    @Test func urlsAreHTTPWithAHostAndAnOptionalPortAndPath() throws {
        #expect(try HTTPURL.parse("http://127.0.0.1:9093").get() == HTTPURL(host: "127.0.0.1", port: 9093, path: "/"))
        #expect(try HTTPURL.parse("http://am.example/prefix/").get().appending(path: "/api/v2/alerts").description
            == "http://am.example/prefix/api/v2/alerts")
        #expect(try HTTPURL.parse("http://[::1]:9093/hook").get() == HTTPURL(host: "::1", port: 9093, path: "/hook"))
        #expect(try HTTPURL.parse("http://[::1]:9093/hook").get().hostHeader == "[::1]:9093")
        for bad in ["https://am:9093", "am:9093", "http://", "http://:9093", "http://am:0", "http://am:99999", "http://am:x",
                    "http://user@am", "http://am/?q=1", "http://[::1"] {
            #expect((try? HTTPURL.parse(bad).get()) == nil, "\(bad)")
        }
    }

    @Test func theConfigurationValidatesTheAlertURLs() throws {
        var c = DaemonConfiguration()
        try c.applyEnvironment(["TALLY_ALERTMANAGER_URL": "http://127.0.0.1:9093", "TALLY_ALERT_WEBHOOK_URL": "http://hooks:8080/tally"])
        #expect(c.alertmanagerURL == "http://127.0.0.1:9093" && c.alertWebhookURL == "http://hooks:8080/tally")
        #expect(throws: ConfigError.self) { try c.applyEnvironment(["TALLY_ALERTMANAGER_URL": "https://127.0.0.1:9093"]) }
        var fileConfig = DaemonConfiguration()
        #expect {
            try fileConfig.load(file: "index = false\nalert_webhook_url = \"http://hooks/x\"")
        } throws: { ($0 as? ConfigError)?.field == "alert_webhook_url" }
    }

    @Test func postSendsOneBoundedRequestAndReadsTheStatus() throws {
        let listener = try LoopbackListener()
        defer { listener.stop() }
        let served = listener.serveInBackground(response: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        let url = try HTTPURL.parse("http://127.0.0.1:\(listener.port)/hook").get()
        let response = try HTTPPost.post(url, body: Array("[]".utf8))
        #expect(response.status == 200 && response.body == Array("ok".utf8))
        let text = try #require(served.request())
        #expect(text.hasPrefix("POST /hook HTTP/1.1\r\n"))
        for header in ["Host: 127.0.0.1:\(listener.port)", "Content-Type: application/json", "Content-Length: 2", "Connection: close"] {
            #expect(text.contains(header + "\r\n"), "\(header) in \(text)")
        }
        #expect(text.hasSuffix("\r\n\r\n[]"))
    }

    @Test func chunkedAndSizedResponsesAreReadWhole() {
        let chunked = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n[{}]\r\n1\r\n \r\n0\r\n\r\n".utf8)
        #expect(HTTPPost.parse(chunked, complete: false) == HTTPResponse(status: 200, reason: "OK", body: Array("[{}] ".utf8)))
        #expect(HTTPPost.parse(Array(chunked.dropLast(5)), complete: false) == nil)
        let sized = Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad".utf8)
        #expect(HTTPPost.parse(sized, complete: false) == HTTPResponse(status: 400, reason: "Bad Request", body: Array("bad".utf8)))
        #expect(HTTPPost.parse(Array(sized.dropLast()), complete: false) == nil)
        #expect(HTTPPost.parse(Array("SSH-2.0\r\n\r\n".utf8), complete: true) == nil)
    }

    @Test func aNon2xxStatusOrARefusedConnectionIsASinkError() throws {
        let listener = try LoopbackListener()
        defer { listener.stop() }
        _ = listener.serveInBackground(response: "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\nbad input")
        let url = try HTTPURL.parse("http://127.0.0.1:\(listener.port)/").get()
        #expect { _ = try HTTPPost.post(url, body: Array("{".utf8)) } throws: { error in
            let message = (error as? SinkError)?.message ?? ""
            return message.contains("HTTP 400") && message.contains("bad input")
        }
        let freePort = try LoopbackListener.freePort()
        let refused = try HTTPURL.parse("http://127.0.0.1:\(freePort)/").get()
        #expect { _ = try HTTPPost.post(refused, body: []) } throws: { ($0 as? SinkError)?.message.contains("connect") == true }
        let silent = try LoopbackListener()  // accepts (the kernel's backlog) but never answers
        defer { silent.stop() }
        let unanswered = try HTTPURL.parse("http://127.0.0.1:\(silent.port)/").get()
        let started = Date()
        #expect(throws: SinkError.self) { _ = try HTTPPost.post(unanswered, body: [], timeoutSeconds: 0.5) }
        #expect(Date().timeIntervalSince(started) < 3)
    }

    /// A window document with `open` alerts and `events`, and a span document after it.
    static func snapshot(open: [Alert], events: [AlertEvent]) -> EncodedSnapshot {
        let indicator = IndexDocument.Indicator(value: nil, light: .insufficientData)
        let executive = IndexDocument.Executive(
            overall: .red, action: "a", requests: 1, quality: indicator, costPerQuery: indicator, safetyIncidents: indicator,
            criticalIncidents: indicator, latencySLOAttainment: indicator, drift: .insufficientData,
            openAlerts: open.count, firingAlerts: open.count, scopeLights: [:])
        func document(_ span: String) -> IndexDocument {
            IndexDocument(collector: "c", span: span, startMicros: start, endMicros: start + 1_000_000, windows: 1,
                          executive: executive, scopes: [], alerts: .init(open: open, events: span == "window" ? events : []),
                          drift: [], fairness: [], canary: [])
        }
        let snapshot = Snapshot(collectorID: "c", windowStartMicros: start, windowEndMicros: start + 1_000_000, sequence: 0,
                                sketches: SketchParameters(), series: [], counters: [:])
        var encoded = EncodedSnapshot(sequence: 0, snapshot: snapshot, bytes: [])
        encoded.documents = [document("window"), document("10s")]
        return encoded
    }

    @Test func theSinkPostsTheWindowsAlertsOnlyWhenThereAreAny() throws {
        let listener = try LoopbackListener()
        defer { listener.stop() }
        let url = try HTTPURL.parse("http://127.0.0.1:\(listener.port)").get()
        let sink = AlertmanagerSink(alertmanager: url, timeoutSeconds: 2)
        #expect(sink.name == "alertmanager" && sink.url.path == "/api/v2/alerts")
        #expect(AlertmanagerSink(webhook: url).name == "webhook" && AlertmanagerSink(webhook: url).url == url)
        // Nothing firing, nothing resolved (a pending alert only): no connection at all.
        try sink.deliver(Self.snapshot(open: [Self.alert("kpi:error_rate", scope: "fleet", state: "pending")], events: []))
        let served = listener.serveInBackground(response: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        try sink.deliver(Self.snapshot(open: [Self.alert("kpi:latency_p95", scope: "model=alpha,ring=canary")], events: []))
        let text = try #require(served.request())
        #expect(text.hasPrefix("POST /api/v2/alerts HTTP/1.1\r\n"))
        let body = try #require(text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) })
        let posted = try JSONDecoder().decode([PostableAlert].self, from: Data(body.utf8))
        #expect(posted.map { $0.labels["alertname"] } == ["kpi_latency_p95"], "the window's only, not the span's")
        // No receiver any more: the delivery fails, for SinkWorker to retry and count.
        listener.stop()
        #expect(throws: SinkError.self) {
            try sink.deliver(Self.snapshot(open: [Self.alert("kpi:latency_p95", scope: "fleet")], events: []))
        }
    }
}
