import Foundation
import Synchronization
import TallyCore
import TallyIndex

extension API {
    /// `/api/v1/fleet/index/windows?from&to&limit`: the index of the whole fleet, from every
    /// collector's rows in the store where they meet (``FleetWindowsSource``), not this
    /// collector's memory. Windows starting in [from, to) µs (default: the hour before
    /// now) are merged per window start and evaluated in order by a fresh engine; the
    /// newest `limit` (default 60, at most 10,000) window documents are returned.
    /// 404 when the face has no source (`http_fleet_index` off) or no policy (`index` off),
    /// or when no window is stored in the range; 502 when the store cannot be read or
    /// refuses the range (too many rows: narrow it); 503 while another fleet read runs.
    static func fleetWindows(_ request: WebRequest, source: FleetWindowsSource?, policy: Policy?,
                             collectorID: String, gate: FleetReadGate, nowMicros: UInt64) -> WebResponse {
        guard let source else {
            return .json(404, APIError(error: "not enabled: set http_fleet_index = true (with postgres_url) in tallyd's configuration",
                                       parameter: nil))
        }
        guard let policy else { return .json(404, APIError(error: "not enabled: the index is off (index = false)", parameter: nil)) }
        var query: RangeQuery
        switch RangeQuery.parse(request, defaultLimit: 60, maxLimit: 10_000) {
        case .success(let parsed): query = parsed
        case .failure(let error): return error.response
        }
        if request.query["to"] == nil { query.to = max(nowMicros, 1) }
        if request.query["from"] == nil { query.from = query.to > 3_600_000_000 ? query.to - 3_600_000_000 : 0 }
        if query.from >= query.to {
            return .badParameter("from", "from (\(query.from)) must be before to (\(query.to))")
        }
        guard gate.enter() else {
            var busy = WebResponse.json(503, APIError(error: "another fleet read is running; retry", parameter: nil))
            busy.headers.append(("Retry-After", "1"))
            return busy
        }
        defer { gate.leave() }
        let read: FleetWindowsSource.Read
        do {
            read = try source.read(query.from, query.to)
        } catch {
            return .json(502, APIError(error: "\(source.name): \(error)", parameter: nil))
        }
        let (merged, unmergeable) = FleetWindows.byWindow(read.snapshots)
        let collectors = Set(read.snapshots.map(\.collectorID)).sorted()
        let held = Held(fromMicros: merged.first?.windowStartMicros, toMicros: merged.last?.windowEndMicros, windows: merged.count)
        guard !merged.isEmpty else {
            return .json(404, NotHeld(error: "no window stored in [\(query.from), \(query.to)) µs in \(source.name)", held: held))
        }
        let (documents, refused) = FleetWindows.evaluate(merged, policy: policy, collectorID: collectorID)
        return .json(200, FleetReply(source: source.name, fromMicros: query.from, toMicros: query.to, collectors: collectors,
                                     snapshots: read.snapshots.count, held: held,
                                     skipped: read.problems.count + unmergeable + refused.count,
                                     problems: Array((read.problems + refused).prefix(20)),
                                     windows: Array(documents.suffix(query.limit))))
    }

    struct FleetReply: Encodable {
        var source: String
        var fromMicros: UInt64
        var toMicros: UInt64
        var collectors: [String]
        var snapshots: Int
        var held: Held
        var skipped: Int
        var problems: [String]
        var windows: [IndexDocument]
        enum CodingKeys: String, CodingKey {
            case source, collectors, snapshots, held, skipped, problems, windows
            case fromMicros = "from_us"
            case toMicros = "to_us"
        }
    }
}

/// One fleet read at a time: each holds a range of windows in memory, so a second one
/// waits for the first by retrying (503) instead of doubling the memory.
final class FleetReadGate: Sendable {
    private let busy = Atomic<Bool>(false)
    func enter() -> Bool { busy.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged }
    func leave() { busy.store(false, ordering: .releasing) }
}
