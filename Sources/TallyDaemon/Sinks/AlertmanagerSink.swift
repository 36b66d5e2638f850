import TallyIndex

/// Alerts out: posts each window's firing alerts, and the alerts the window resolved,
/// as one JSON array of ``PostableAlert``s: to a real Alertmanager's
/// `<alertmanager_url>/api/v2/alerts` (sink `alertmanager`), or as it is to any URL
/// that takes the same array (sink `webhook`, `alert_webhook_url`).
///
/// Every window re-sends every firing alert, so Alertmanager keeps it active (without
/// `endsAt` it would resolve it itself after its `resolve_timeout`: the safety net when
/// tallyd stops, or when a resolution is dropped); the window that resolves an alert
/// sends it once with `endsAt`. Windows with nothing firing and nothing resolved post
/// nothing. Pending alerts and span documents are not sent.
///
/// A failed post (unresolvable host, connection refused, timeout, a status other than
/// 2xx) throws ``SinkError``: the sink's ``SinkWorker`` retries, backs off, opens its
/// breaker and counts drops as for any sink (`sink.alertmanager.*` counters).
public final class AlertmanagerSink: SnapshotSink {
    public let name: String
    /// Alerts come from the index documents: handed each snapshot after the index ran.
    public var wantsIndex: Bool { true }
    /// Where each post goes.
    public let url: HTTPURL
    public let timeoutSeconds: Double

    /// The `alertmanager` sink: posts to `<base>/api/v2/alerts` (`base` may carry a path
    /// prefix, for an Alertmanager behind `--web.route-prefix`).
    public init(alertmanager base: HTTPURL, timeoutSeconds: Double = HTTPPost.defaultTimeoutSeconds) {
        name = "alertmanager"
        url = base.appending(path: "/api/v2/alerts")
        self.timeoutSeconds = timeoutSeconds
    }

    /// The `webhook` sink: posts the same array to `url` as given.
    public init(webhook url: HTTPURL, timeoutSeconds: Double = HTTPPost.defaultTimeoutSeconds) {
        name = "webhook"
        self.url = url
        self.timeoutSeconds = timeoutSeconds
    }

    public func deliver(_ snapshot: EncodedSnapshot) throws(SinkError) {
        guard let window = snapshot.documents.first(where: { $0.span == "window" }) else { return }
        let alerts = PostableAlert.alerts(in: window)
        guard !alerts.isEmpty else { return }
        try HTTPPost.post(url, body: try PostableAlert.encode(alerts), timeoutSeconds: timeoutSeconds)
    }

    public func close() {}
}
