import TallyCore
import TallyIndex
import TallySketches
import TallyWire

/// `/api/v1/series`: the newest window's series (the snapshot the index judged last),
/// filtered by label and paged, each with its counters and the quantiles of its digests.
extension API {
    struct SeriesPage: Encodable {
        var collector: String
        var windowStartMicros: UInt64
        var windowEndMicros: UInt64
        var total: Int
        var offset: Int
        var limit: Int
        var series: [SeriesRow]
        enum CodingKeys: String, CodingKey {
            case collector, total, offset, limit, series
            case windowStartMicros = "window_start_us"
            case windowEndMicros = "window_end_us"
        }
    }

    /// One series: latencies in seconds; cost in US dollars; users a HyperLogLog estimate.
    struct SeriesRow: Encodable {
        var labels: [String: String]
        var requests: UInt64
        var statuses: [String: UInt64]
        var refusals: UInt64
        var latencySeconds: [String: Double]
        var ttftSeconds: [String: Double]
        var inputTokens: Double
        var outputTokens: Double
        var costUSD: Double
        var users: Double
        enum CodingKeys: String, CodingKey {
            case labels, requests, statuses, refusals, users
            case latencySeconds = "latency_seconds"
            case ttftSeconds = "ttft_seconds"
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case costUSD = "cost_usd"
        }

        init(_ series: SnapshotSeries) {
            let l = series.labels, a = series.aggregate
            var labels = ["model": l.model, "model_version": l.modelVersion, "prompt_version": l.promptVersion,
                          "route": l.route, "ring": l.ring.name]
            for tag in l.tags { labels["tag." + tag.key] = tag.value }
            self.labels = labels
            requests = a.requests
            statuses = Dictionary(uniqueKeysWithValues: RequestStatus.allCases.map { ($0.name, a.statusCount(Int($0.rawValue))) })
            refusals = a.refusals
            func quantiles(_ digest: TDigest) -> [String: Double] {
                digest.isEmpty ? [:] : ["p50": digest.quantile(0.5) / 1e6, "p95": digest.quantile(0.95) / 1e6,
                                        "p99": digest.quantile(0.99) / 1e6]
            }
            latencySeconds = quantiles(a.totalLatency)
            ttftSeconds = quantiles(a.timeToFirstToken)
            inputTokens = a.inputTokens.sum
            outputTokens = a.outputTokens.sum
            costUSD = a.cost.sum
            users = a.users.estimate
        }
    }

    static let seriesFilters = ["model", "model_version", "prompt_version", "route", "ring"]

    /// `limit` (1 … 1000, default 50) and `offset` (≥ 0), or the 400 naming the bad one.
    static func paging(_ query: [String: String]) -> Result<(limit: Int, offset: Int), ParameterError> {
        var limit = 50, offset = 0
        if let text = query["limit"] {
            guard let value = Int(text), (1...1_000).contains(value) else {
                return .failure(ParameterError(response: .badParameter("limit", "limit must be 1 … 1000, not \"\(text)\"")))
            }
            limit = value
        }
        if let text = query["offset"] {
            guard let value = Int(text), value >= 0 else {
                return .failure(ParameterError(response: .badParameter("offset", "offset must be ≥ 0, not \"\(text)\"")))
            }
            offset = value
        }
        return .success((limit, offset))
    }

    /// A bad parameter, as the 400 that names it.
    struct ParameterError: Error { var response: WebResponse }

    static func series(_ request: WebRequest, _ view: WebStore.View) -> WebResponse {
        let q = request.query
        if let bad = unknownParameter(request, Set(seriesFilters + ["tag", "limit", "offset"])) { return bad }
        var tag: (key: String, value: String)?
        if let text = q["tag"] {
            let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else { return .badParameter("tag", "tag must be KEY=VALUE, not \"\(text)\"") }
            tag = (String(parts[0]), String(parts[1]))
        }
        if let ring = q["ring"], DeploymentRing.allCases.first(where: { $0.name == ring }) == nil {
            return .badParameter("ring", "unknown ring \"\(ring)\" (one of \(DeploymentRing.allCases.map(\.name).joined(separator: ", ")))")
        }
        let page: (limit: Int, offset: Int)
        switch paging(q) {
        case .success(let p): page = p
        case .failure(let error): return error.response
        }
        guard let snapshot = view.snapshot else { return notReady }
        let matching = snapshot.series.filter { s in
            let l = s.labels
            for (name, value) in [("model", l.model), ("model_version", l.modelVersion), ("prompt_version", l.promptVersion),
                                  ("route", l.route), ("ring", l.ring.name)] where q[name] != nil && q[name] != value { return false }
            if let tag, !l.tags.contains(where: { $0.key == tag.key && $0.value == tag.value }) { return false }
            return true
        }
        let rows = matching.dropFirst(page.offset).prefix(page.limit).map(SeriesRow.init)
        return .json(200, SeriesPage(collector: snapshot.collectorID,
                                     windowStartMicros: snapshot.windowStartMicros, windowEndMicros: snapshot.windowEndMicros,
                                     total: matching.count, offset: page.offset, limit: page.limit, series: Array(rows)))
    }
}
