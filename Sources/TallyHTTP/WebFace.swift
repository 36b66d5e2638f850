import Foundation
import Synchronization
import TallyIndex

/// A request as the web face sees it (independent of the HTTP server that carries it).
public struct WebRequest: Sendable {
    public var path: String
    public var query: [String: String]
    public var accept: String?
    public var authorization: String?

    public init(path: String, query: [String: String] = [:], accept: String? = nil, authorization: String? = nil) {
        self.path = path
        self.query = query
        self.accept = accept
        self.authorization = authorization
    }

    /// Parses `a=1&b=x%20y` (the last of repeated names wins; `+` is a space).
    public static func parseQuery(_ query: String?) -> [String: String] {
        var result: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            result[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return result
    }
}

public struct WebResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: String
    public var headers: [(String, String)] = []

    public static func text(_ status: Int, _ body: String) -> WebResponse {
        WebResponse(status: status, contentType: "text/plain; charset=utf-8", body: body)
    }
    public static func html(_ body: String) -> WebResponse {
        WebResponse(status: 200, contentType: "text/html; charset=utf-8", body: body)
    }
    public static func json<T: Encodable>(_ status: Int, _ value: T) -> WebResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{\"error\":\"not encodable\"}"
        return WebResponse(status: status, contentType: "application/json", body: body)
    }
    /// `{"error": …, "parameter": …}`.
    public static func badParameter(_ name: String, _ message: String) -> WebResponse {
        json(400, APIError(error: message, parameter: name))
    }
}

struct APIError: Encodable {
    var error: String
    var parameter: String?
}

/// tallyd's web face: every endpoint as a function of a ``WebRequest`` over the
/// ``WebStore`` and the collector's counters. Read-only: nothing here changes state.
public final class WebFace: Sendable {
    public let store: WebStore
    let token: String
    let maxLabelSets: Int
    let collectorID: String
    /// When tallyd started (s since 1970): the `_created` of every counter and histogram.
    let started: Double
    private let source = Mutex<Source>(Source())

    /// What the collector lends once it exists (the server starts before it).
    struct Source {
        var policy: Policy?
        var counters: (@Sendable () -> [String: UInt64])?
        var storedWindows: StoredWindows.Reader?
        var fleetWindows: FleetWindowsSource?
    }
    let fleetGate = FleetReadGate()

    public init(store: WebStore, token: String = "", maxLabelSets: Int = 500, collectorID: String = "",
                started: Double = Date().timeIntervalSince1970) {
        self.store = store
        self.started = started
        self.token = token
        self.maxLabelSets = maxLabelSets
        self.collectorID = collectorID
    }

    /// The policy (thresholds drawn in the charts) and the collector's counters.
    public func attach(policy: Policy?, counters: @escaping @Sendable () -> [String: UInt64]) {
        source.withLock {
            $0.policy = policy
            $0.counters = counters
        }
    }

    /// Older windows from the data directory (tallyd attaches a reader when its file sink is on).
    public func attach(storedWindows reader: @escaping StoredWindows.Reader) {
        source.withLock { $0.storedWindows = reader }
    }

    /// Every collector's windows for `/api/v1/fleet/index/windows` (tallyd attaches
    /// PostgreSQL's reader when `http_fleet_index` is on).
    public func attach(fleetWindows source: FleetWindowsSource) {
        self.source.withLock { $0.fleetWindows = source }
    }

    var storedWindows: StoredWindows.Reader? { source.withLock { $0.storedWindows } }
    var fleetWindows: FleetWindowsSource? { source.withLock { $0.fleetWindows } }
    var policy: Policy? { source.withLock { $0.policy } }
    func counters() -> [String: UInt64] { source.withLock { $0.counters }?() ?? [:] }

    /// The paths served (GET).
    public static let paths = ["/", "/scope", "/healthz", "/readyz", "/metrics", "/metrics/vllm", "/api/v1/index", "/api/v1/index/windows",
                               "/api/v1/alerts", "/api/v1/scopes", "/api/v1/series", "/api/v1/snapshots", "/api/v1/openapi.json",
                               fleetIndexPath]
    /// The one path whose answer blocks on a store (served off the event loops).
    public static let fleetIndexPath = "/api/v1/fleet/index/windows"

    public func respond(_ request: WebRequest) -> WebResponse {
        if request.path == "/healthz" { return .text(200, "ok\n") }
        if !token.isEmpty && !authorized(request.authorization) {
            var response = WebResponse.text(401, "unauthorized: send Authorization: Bearer <http_token>\n")
            response.headers.append(("WWW-Authenticate", "Bearer realm=\"tally\""))
            return response
        }
        switch request.path {
        case "/readyz":
            return store.windowsSeen > 0 ? .text(200, "ready\n") : .text(503, "not ready: no window evaluated yet\n")
        case "/metrics": return metrics(request)
        case "/metrics/vllm": return vllmMetrics(request)
        case "/api/v1/index": return API.index(request, store.view)
        case "/api/v1/index/windows": return API.windows(request, store.view)
        case "/api/v1/alerts": return API.alerts(request, store.view)
        case "/api/v1/scopes": return API.scopes(request, store.view)
        case "/api/v1/series": return API.series(request, store.view)
        case "/api/v1/snapshots": return API.snapshots(request, store.view, stored: storedWindows)
        case Self.fleetIndexPath:
            return API.fleetWindows(request, source: fleetWindows, policy: policy, collectorID: collectorID, gate: fleetGate,
                                    nowMicros: UInt64(max(0, Date().timeIntervalSince1970 * 1e6)))
        case "/api/v1/openapi.json": return WebResponse(status: 200, contentType: "application/json", body: OpenAPI.document)
        case "/": return Dashboard.page(request, store.view, policy: policy, collectorID: collectorID)
        case "/scope": return Dashboard.scopePage(request, store.view, policy: policy)
        default: return .text(404, "not found: \(request.path)\n")
        }
    }

    /// Constant-time comparison of the bearer token.
    func authorized(_ header: String?) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let given = Array(header.dropFirst("Bearer ".count).utf8), expected = Array(token.utf8)
        guard given.count == expected.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(given, expected) { difference |= a ^ b }
        return difference == 0
    }

    func metrics(_ request: WebRequest) -> WebResponse {
        let format = ExpositionFormat.negotiate(accept: request.accept)
        let families = DaemonMetrics.families(counters()).families
            + FleetMetrics.families(store.view, labels: store.labels, maxLabelSets: maxLabelSets)
        return WebResponse(status: 200, contentType: format.contentType, body: format.render(families, created: started))
    }

    /// vLLM's families (``VLLMMetrics``) when `http_vllm_metrics` is on, else a 404 saying how.
    func vllmMetrics(_ request: WebRequest) -> WebResponse {
        guard store.vllmMaxModelLength != nil else {
            return .text(404, "not enabled: set http_vllm_metrics = true in tallyd's configuration\n")
        }
        let format = ExpositionFormat.negotiate(accept: request.accept)
        let view = store.view
        var folded = MetricFamily(name: "tally_vllm_models_folded", type: .counter,
                                  help: "Models folded into model_name=\"other\" past http_max_label_sets.")
        folded.add([], Double(view.vllmFoldedModels))
        return WebResponse(status: 200, contentType: format.contentType,
                           body: format.render(VLLMMetrics.families(view.vllm) + [folded], created: started))
    }
}
