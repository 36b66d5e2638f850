import TallyCore
import TallyWire

/// Human renderings of a snapshot: the one-line log of a window and the table of
/// its top series (tallyd's demo summary and tally-tail).
public enum SnapshotSummary {
    /// One concise line: window, sequence, frames, series, late/dropped, rejects.
    public static func line(_ snapshot: Snapshot, sequence: UInt64) -> String {
        let c = snapshot.counters
        let dropped = c.filter { $0.key.hasPrefix("dropped.") && $0.key != "dropped.late" }.values.reduce(0, +)
        let rejected = c.filter { $0.key.hasPrefix("ingest.rejected.") }.values.reduce(0, +)
        let sinkDrops = c.filter { $0.key.hasPrefix("sink.") && $0.key.contains(".dropped.") }.values.reduce(0, +)
        return "window \(clock(snapshot.windowStartMicros))–\(clock(snapshot.windowEndMicros)) seq \(sequence): "
            + "\(snapshot.requests) frames in \(snapshot.series.count) series; totals since start: "
            + "accepted \(c["frames.accepted"] ?? 0), late \(c["dropped.late"] ?? 0), dropped \(dropped), "
            + "rejected batches \(rejected), sink drops \(sinkDrops); previous flush \(c["flush.micros"] ?? 0) µs, "
            + "previous snapshot \(c["snapshot.bytes"] ?? 0) B"
    }

    /// A table of the window rolled up by model, version and ring (series merged:
    /// exact counts, merged digests, HLL unions), the top `limit` by requests, with
    /// a fleet-wide total row.
    public static func table(_ snapshot: Snapshot, limit: Int = 12) -> String {
        var groups: [[String]: SeriesAggregate] = [:]
        var fleet = SeriesAggregate(sketches: snapshot.sketches)
        for s in snapshot.series {
            let key = [s.labels.model, s.labels.modelVersion, s.labels.ring.name]
            if groups[key] == nil { groups[key] = SeriesAggregate(sketches: snapshot.sketches) }
            try? groups[key]!.merge(s.aggregate)  // one snapshot: one parameter set
            try? fleet.merge(s.aggregate)
        }
        let top = groups.sorted { $0.value.requests > $1.value.requests || ($0.value.requests == $1.value.requests && $0.key.lexicographicallyPrecedes($1.key)) }.prefix(limit)
        var rows = [["model", "version", "ring", "requests", "p50 ms", "p95 ms", "p99 ms", "ttft p50", "ttft p95",
                     "err %", "timeout %", "safety", "cost $", "users"]]
        func row(_ key: [String], _ a: SeriesAggregate) -> [String] {
            func ms(_ v: Double) -> String { v.isNaN ? "-" : format(v / 1_000, 1) }
            let timeouts = a.statusCounts[Int(RequestStatus.timeout.rawValue)]
            return key + [
                String(a.requests), ms(a.totalLatency.quantile(0.5)), ms(a.totalLatency.quantile(0.95)),
                ms(a.totalLatency.quantile(0.99)), ms(a.timeToFirstToken.quantile(0.5)), ms(a.timeToFirstToken.quantile(0.95)),
                format(a.errorRate * 100, 2), format(a.requests == 0 ? 0 : Double(timeouts) * 100 / Double(a.requests), 2),
                String(a.safetyIncidents), a.cost.count == 0 ? "-" : format(a.cost.sum, 4), String(Int(a.users.estimate.rounded())),
            ]
        }
        for (key, a) in top { rows.append(row(key, a)) }
        rows.append(row(["all models", "", ""], fleet))
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var out = "── \(snapshot.collectorID) · window \(clock(snapshot.windowStartMicros))–\(clock(snapshot.windowEndMicros)) UTC · "
            + "\(snapshot.requests) requests in \(snapshot.series.count) series ──\n"
        for row in rows {
            out += row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i >= 3 ? pad + cell : cell + pad
            }.joined(separator: "  ") + "\n"
        }
        return out
    }

    /// HH:MM:SS (UTC) of a µs timestamp.
    public static func clock(_ micros: UInt64) -> String {
        let seconds = micros / 1_000_000
        func two(_ v: UInt64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(two(seconds / 3600 % 24)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
    }

    static func format(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (value * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(abs(scaled) - abs(Double(whole)) * scale)
        if decimals == 0 { return String(whole) }
        let digits = String(fraction)
        return "\(value < 0 && whole == 0 ? "-" : "")\(whole).\(String(repeating: "0", count: decimals - digits.count))\(digits)"
    }
}
