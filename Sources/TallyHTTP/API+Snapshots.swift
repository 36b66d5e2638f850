import TallyCore

extension API {
    /// The most snapshots one request returns.
    static let maxSnapshotsPerRequest = 100

    /// `/api/v1/snapshots?from&to&limit`: whole snapshots as JSON (each object is a line of
    /// the JSON-lines sink, `snapshot-line.schema.json`), the newest `limit` (default 10)
    /// overlapping [from, to): the newest window from memory, older ones from the data
    /// directory when tallyd stores snapshots. 404 with the held range when none overlaps.
    static func snapshots(_ request: WebRequest, _ view: WebStore.View, stored: StoredWindows.Reader?) -> WebResponse {
        let query: RangeQuery
        switch RangeQuery.parse(request, defaultLimit: 10, maxLimit: maxSnapshotsPerRequest) {
        case .success(let parsed): query = parsed
        case .failure(let error): return error.response
        }
        let (from, to, limit) = (query.from, query.to, query.limit)
        let archive = stored?(from, to, limit)
        var byWindow: [String: Snapshot] = [:]
        for snapshot in archive?.snapshots ?? [] { byWindow[key(snapshot)] = snapshot }
        var heldFrom = archive?.heldFromMicros, heldTo = archive?.heldToMicros, held = archive?.held ?? 0
        if let newest = view.snapshot {
            if byWindow[key(newest)] == nil && (archive?.heldToMicros ?? 0) < newest.windowEndMicros { held += 1 }
            heldFrom = min(heldFrom ?? .max, newest.windowStartMicros)
            heldTo = max(heldTo ?? 0, newest.windowEndMicros)
            if newest.windowStartMicros < to && newest.windowEndMicros > from { byWindow[key(newest)] = newest }
        }
        guard held > 0 else { return notReady }
        let heldRange = Held(fromMicros: heldFrom, toMicros: heldTo, windows: held)
        let selected = byWindow.values.sorted { ($0.windowStartMicros, $0.collectorID) < ($1.windowStartMicros, $1.collectorID) }
            .suffix(limit)
        if selected.isEmpty {
            return .json(404, NotHeld(error: "no stored window in [\(from), \(to)) µs", held: heldRange))
        }
        let heldJSON = WebResponse.json(200, heldRange).body
        let body = "{\"held\":" + heldJSON + ",\"snapshots\":[" + selected.map { $0.jsonLine() }.joined(separator: ",") + "]}"
        return WebResponse(status: 200, contentType: "application/json", body: body)
    }

    private static func key(_ snapshot: Snapshot) -> String { "\(snapshot.collectorID)@\(snapshot.windowStartMicros)" }
}
