import TallyCore

/// Several collectors' snapshots seen as one fleet: every snapshot of the same window
/// start merged into one (counters summed, digests and HyperLogLogs merged, as
/// `Snapshot.merged` does), then the index evaluated over those windows in order. What
/// `tally-index` does over data directories or PostgreSQL, and what the web face's
/// `/api/v1/fleet/index/windows` serves.
public enum FleetWindows {
    /// One snapshot per window start, in window order; `unmergeable` counts the window
    /// starts whose snapshots could not be merged (sketch parameters that differ), left out.
    public static func byWindow(_ snapshots: [Snapshot]) -> (windows: [Snapshot], unmergeable: Int) {
        var groups: [UInt64: [Snapshot]] = [:]
        for snapshot in snapshots { groups[snapshot.windowStartMicros, default: []].append(snapshot) }
        var windows: [Snapshot] = []
        var unmergeable = 0
        for start in groups.keys.sorted() {
            let group = groups[start]!
            if group.count == 1 {
                windows.append(group[0])
            } else if let merged = try? Snapshot.merged(group, collectorID: group[0].collectorID) {
                windows.append(merged)
            } else {
                unmergeable += 1
            }
        }
        return (windows, unmergeable)
    }

    /// The window documents (span `window`) of `windows`, evaluated in order by a fresh
    /// engine: alerts, spans and drift see only these windows (a baseline is learnt from
    /// the first ones, as after a restart). A window the engine refuses is left out and
    /// its error returned beside the documents.
    public static func evaluate(_ windows: [Snapshot], policy: Policy, collectorID: String) -> (documents: [IndexDocument], refused: [String]) {
        let engine = IndexEngine(policy: policy, collectorID: collectorID)
        var documents: [IndexDocument] = []
        var refused: [String] = []
        for window in windows {
            do {
                if let document = try engine.evaluate(window).first { documents.append(document) }
            } catch {
                refused.append("window \(window.windowStartMicros): \(error)")
            }
        }
        return (documents, refused)
    }
}
