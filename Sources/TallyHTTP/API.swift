import TallyIndex

/// The JSON API (`/api/v1/…`; OpenAPI.swift describes it). Errors are
/// `{"error": …, "parameter": …}` with 400 for a bad parameter, 404 for a range not held,
/// 503 before the first window.
enum API {
    struct Held: Encodable {
        var fromMicros: UInt64?
        var toMicros: UInt64?
        var windows: Int
        enum CodingKeys: String, CodingKey {
            case windows
            case fromMicros = "from_us"
            case toMicros = "to_us"
        }
    }

    struct Windows: Encodable {
        var held: Held
        var windows: [IndexDocument]
    }

    struct NotHeld: Encodable {
        var error: String
        var held: Held
    }

    struct Alerts: Encodable {
        var open: [Alert]
        var firing: Int
        /// Transitions in the held windows, newest first (at most 200).
        var recent: [AlertEvent]
    }

    struct Scopes: Encodable {
        var span: String
        var total: Int
        var offset: Int
        var limit: Int
        var scopes: [IndexDocument.ScopeReport]
    }

    static let notReady = WebResponse.json(503, APIError(error: "no window evaluated yet", parameter: nil))

    /// The first parameter not in `known`, as a 400.
    static func unknownParameter(_ request: WebRequest, _ known: Set<String>) -> WebResponse? {
        guard let name = request.query.keys.sorted().first(where: { !known.contains($0) }) else { return nil }
        return .badParameter(name, "unknown parameter \"\(name)\" (known: \(known.sorted().joined(separator: ", ")))")
    }

    /// The newest document of `span` (window or a rolling span's name).
    enum Lookup {
        case found(IndexDocument)
        case failed(WebResponse)
    }

    static func document(_ span: String, _ view: WebStore.View) -> Lookup {
        guard !view.latest.isEmpty else { return .failed(notReady) }
        guard let document = view.latest.first(where: { $0.span == span }) else {
            let held = view.latest.map(\.span).joined(separator: ", ")
            return .failed(.badParameter("span", "unknown span \"\(span)\" (held: \(held))"))
        }
        return .found(document)
    }

    static func index(_ request: WebRequest, _ view: WebStore.View) -> WebResponse {
        if let bad = unknownParameter(request, ["span"]) { return bad }
        switch document(request.query["span"] ?? "window", view) {
        case .found(let document): return .json(200, document)
        case .failed(let response): return response
        }
    }

    static func held(_ view: WebStore.View) -> Held {
        Held(fromMicros: view.windows.first?.startMicros, toMicros: view.windows.last?.endMicros, windows: view.windows.count)
    }

    /// A time range [from, to) µs and a count, from the `from`, `to` and `limit` parameters.
    struct RangeQuery {
        var from: UInt64
        var to: UInt64
        var limit: Int

        /// The query's range, or the 400 naming the first bad (or unknown) parameter.
        static func parse(_ request: WebRequest, defaultLimit: Int, maxLimit: Int) -> Result<RangeQuery, ParameterError> {
            if let name = request.query.keys.sorted().first(where: { !["from", "to", "limit"].contains($0) }) {
                return .failure(ParameterError(response: .badParameter(name, "unknown parameter \"\(name)\" (known: from, limit, to)")))
            }
            var bounds: [String: UInt64] = [:]
            for name in ["from", "to", "limit"] {
                guard let text = request.query[name] else { continue }
                guard let value = UInt64(text) else {
                    return .failure(ParameterError(response: .badParameter(name, "\(name) must be a whole number (µs since the epoch for from and to), not \"\(text)\"")))
                }
                bounds[name] = value
            }
            let from = bounds["from"] ?? 0, to = bounds["to"] ?? UInt64.max
            if from >= to { return .failure(ParameterError(response: .badParameter("to", "to (\(to)) must be after from (\(from))"))) }
            let limit = bounds["limit"] ?? UInt64(defaultLimit)
            if !(1...UInt64(maxLimit)).contains(limit) {
                return .failure(ParameterError(response: .badParameter("limit", "limit must be 1 … \(maxLimit), not \(limit)")))
            }
            return .success(RangeQuery(from: from, to: to, limit: Int(limit)))
        }
    }

    static func windows(_ request: WebRequest, _ view: WebStore.View) -> WebResponse {
        let query: RangeQuery
        switch RangeQuery.parse(request, defaultLimit: 60, maxLimit: 100_000) {
        case .success(let parsed): query = parsed
        case .failure(let error): return error.response
        }
        guard !view.windows.isEmpty else { return notReady }
        let (from, to, limit) = (query.from, query.to, query.limit)
        // The newest `limit` windows of the range (a document can be large).
        let selected = Array(view.windows.filter { $0.startMicros < to && $0.endMicros > from }.suffix(limit))
        if selected.isEmpty {
            return .json(404, NotHeld(error: "no held window in [\(from), \(to)) µs", held: held(view)))
        }
        return .json(200, Windows(held: held(view), windows: selected))
    }

    static func alerts(_ request: WebRequest, _ view: WebStore.View) -> WebResponse {
        if let bad = unknownParameter(request, []) { return bad }
        guard let last = view.windows.last else { return notReady }
        let recent = Array(view.windows.reversed().lazy.flatMap { $0.alerts.events.reversed() }.prefix(200))
        return .json(200, Alerts(open: last.alerts.open, firing: last.executive.firingAlerts, recent: recent))
    }

    /// Filters and pages the scopes of a document (shared with the dashboard).
    static func filter(_ document: IndexDocument, kind: String?, light: String?) -> [IndexDocument.ScopeReport] {
        document.scopes.filter { (kind == nil || $0.kind == kind) && (light == nil || $0.light.rawValue == light) }
    }

    static func scopes(_ request: WebRequest, _ view: WebStore.View) -> WebResponse {
        if let bad = unknownParameter(request, ["kind", "light", "limit", "offset", "span"]) { return bad }
        let q = request.query
        if let kind = q["kind"], Scope.Kind(rawValue: kind) == nil {
            return .badParameter("kind", "unknown kind \"\(kind)\" (one of \(Scope.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if let light = q["light"], Light(rawValue: light) == nil {
            return .badParameter("light", "unknown light \"\(light)\" (one of \(Light.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let (limit, offset): (Int, Int)
        switch paging(q) {
        case .success(let page): (limit, offset) = page
        case .failure(let error): return error.response
        }
        let span = q["span"] ?? "window"
        switch document(span, view) {
        case .failed(let response): return response
        case .found(let document):
            let all = filter(document, kind: q["kind"], light: q["light"])
            let page = Array(all.dropFirst(offset).prefix(limit))
            return .json(200, Scopes(span: span, total: all.count, offset: offset, limit: limit, scopes: page))
        }
    }
}
