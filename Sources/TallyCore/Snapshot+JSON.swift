import TallySketches
import TallyWire

extension Snapshot {
    /// The snapshot as one line of JSON with stable field names, for people and
    /// tools (digests as count/min/max/mean/sum and quantiles p50 … p999;
    /// HyperLogLogs as estimates). Non-finite numbers are written as null. `cohorts` (the
    /// cohort aggregates, same fields as a series, one tag) and `heavy_hitters` (per slice, the
    /// heaviest users by requests and by cost, user hashes as 16 hex digits, and with a
    /// heavy-hitter tag its heaviest values by name) appear only when there are some.
    public func jsonLine() -> String {
        var o = JSONObject()
        o.number("format", Double(Snapshot.jsonFormatVersion))
        o.string("collector", collectorID)
        o.number("window_start_us", Double(windowStartMicros))
        o.number("window_end_us", Double(windowEndMicros))
        o.raw("sequences", "[" + sequences.map { r in
            var s = JSONObject()
            s.string("collector", r.collectorID); s.number("first", Double(r.first)); s.number("last", Double(r.last))
            return s.text
        }.joined(separator: ",") + "]")
        var c = JSONObject()
        for name in counters.keys.sorted() { c.number(name, Double(counters[name]!)) }
        o.raw("counters", c.text)
        o.raw("series", "[" + series.map { $0.json() }.joined(separator: ",") + "]")
        if !cohorts.isEmpty {
            o.raw("cohorts", "[" + cohorts.map { $0.json(summaries: cohortSummaries) }.joined(separator: ",") + "]")
            if !cohortSummaries.isEmpty {
                o.raw("cohort_summaries", "[" + SummarizedDigests.names.filter { cohortSummaries.contains($0.digest) }
                    .map { JSONObject.quote($0.name) }.joined(separator: ",") + "]")
            }
        }
        if let heavyHittersJSON { o.raw("heavy_hitters", heavyHittersJSON) }
        return o.text
    }

    /// The JSON line's `heavy_hitters` array (snapshot-line.schema.json); nil when there are
    /// none. The PostgreSQL sink stores it as it is (SCHEMA.md, `windows.heavy_hitters`).
    public var heavyHittersJSON: String? {
        heavyHitters.isEmpty ? nil : "[" + heavyHitters.map(\.json).joined(separator: ",") + "]"
    }
}

extension SeriesLabels {
    /// The slice's fields: model, model_version, prompt_version, route, ring.
    func writeSlice(into o: inout JSONObject) {
        o.string("model", model)
        o.string("model_version", modelVersion)
        o.string("prompt_version", promptVersion)
        o.string("route", route)
        o.string("ring", ring.name)
    }
}

extension SliceHeavyHitters {
    var json: String {
        var o = JSONObject()
        labels.writeSlice(into: &o)
        o.number("capacity", Double(capacity))
        o.raw("users_by_requests", Self.json(usersByRequests))
        o.raw("users_by_cost", Self.json(usersByCost))
        if let tenants {
            o.string("tenant_tag", tenants.tagKey)
            o.raw("tenants_by_requests", Self.json(tenants.byRequests, names: tenants.names))
            o.raw("tenants_by_cost", Self.json(tenants.byCost, names: tenants.names))
        }
        return o.text
    }

    /// A summary; its keys are user hashes, or with `names` tenants.
    private static func json(_ summary: HeavyHitters, names: [UInt64: String]? = nil) -> String {
        var o = JSONObject()
        o.number("total", summary.totalWeight)
        o.number("error_bound", summary.errorBound)
        o.raw("top", "[" + summary.entries.map { e in
            var entry = JSONObject()
            if let names {
                entry.string("tenant", names[e.key] ?? "")
            } else {
                entry.string("user", SliceHeavyHitters.userText(e.key))
            }
            entry.number("estimate", e.estimate)
            entry.number("error", e.error)
            return entry.text
        }.joined(separator: ",") + "]")
        return o.text
    }
}

extension SnapshotSeries {
    /// The record as a JSON object; the distributions in `summaries` (a cohort's,
    /// ``Snapshot/cohortSummaries``) with their quantiles null.
    func json(summaries: SummarizedDigests = []) -> String {
        let a = aggregate
        var o = JSONObject()
        labels.writeSlice(into: &o)
        var tags = JSONObject()
        for tag in labels.tags { tags.string(tag.key, tag.value) }
        o.raw("tags", tags.text)
        o.number("requests", Double(a.requests))
        var status = JSONObject()
        for s in RequestStatus.allCases { status.number(s.name, Double(a.statusCount(Int(s.rawValue)))) }
        o.raw("status", status.text)
        o.number("error_rate", a.errorRate)
        var errors = JSONObject()
        for name in errorClasses.keys.sorted() { errors.number(name, Double(errorClasses[name]!)) }
        o.raw("error_classes", errors.text)
        o.number("refusals", Double(a.refusals))
        o.number("escalations", Double(a.escalations))
        o.number("fallbacks", Double(a.fallbacks))
        var task = JSONObject()
        task.number("unknown", Double(a.taskOutcomeCount(0))); task.number("success", Double(a.taskOutcomeCount(1)))
        task.number("failure", Double(a.taskOutcomeCount(2)))
        o.raw("task", task.text)
        var feedback = JSONObject()
        feedback.number("up", Double(a.feedbackUp)); feedback.number("down", Double(a.feedbackDown))
        o.raw("feedback", feedback.text)
        var severity = JSONObject()
        for s in SafetySeverity.allCases where s != .none { severity.number(s.name, Double(a.safetyCount(Int(s.rawValue)))) }
        var kinds = JSONObject()
        for (bit, name) in SafetyKinds.names where a.safetyKindCount(bit) > 0 { kinds.number(name, Double(a.safetyKindCount(bit))) }
        var safety = JSONObject()
        safety.number("incidents", Double(a.safetyIncidents))
        safety.raw("by_severity", severity.text)
        safety.raw("by_kind", kinds.text)
        o.raw("safety", safety.text)
        o.number("unpriced", Double(a.unpriced))
        o.raw("cost_usd", digestJSON(a.cost, summary: summaries.contains(.cost)))
        o.raw("latency_us", digestJSON(a.totalLatency, summary: summaries.contains(.totalLatency)))
        o.raw("ttft_us", digestJSON(a.timeToFirstToken, summary: summaries.contains(.timeToFirstToken)))
        o.raw("tpot_us", digestJSON(a.timePerOutputToken))
        o.raw("queue_us", digestJSON(a.queueTime, summary: summaries.contains(.queueTime)))
        o.raw("input_tokens", digestJSON(a.inputTokens, summary: summaries.contains(.inputTokens)))
        o.raw("output_tokens", digestJSON(a.outputTokens, summary: summaries.contains(.outputTokens)))
        o.number("cached_input_tokens", Double(a.cachedInputTokens))
        o.number("users", a.users.estimate.rounded())
        o.number("sessions", a.sessions.estimate.rounded())
        var categories = JSONObject()
        for i in 0..<a.categoryEntryCount {  // in id order, read in place
            let (id, count) = a.categoryEntry(at: i)
            categories.number(String(id), Double(count))
        }
        o.raw("categories", categories.text)
        o.number("other_categories", Double(a.otherCategories))
        return o.text
    }

    private func digestJSON(_ d: TDigest, summary: Bool = false) -> String {
        var o = JSONObject()
        o.number("count", Double(d.count))
        guard d.count > 0 else { return o.text }
        o.number("min", d.min); o.number("max", d.max); o.number("sum", d.sum); o.number("mean", d.mean)
        for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)] {
            o.number(name, summary && d.count > 1 ? .nan : d.quantile(q))  // a summary has no quantiles (null)
        }
        return o.text
    }
}

/// A minimal JSON object writer: keys in insertion order, RFC 8259 string escapes;
/// numbers that are integers print without a fraction, non-finite ones as `null`.
public struct JSONObject {
    private var fields: [String] = []

    public init() {}

    public mutating func string(_ key: String, _ value: String) { fields.append(Self.quote(key) + ":" + Self.quote(value)) }
    public mutating func raw(_ key: String, _ json: String) { fields.append(Self.quote(key) + ":" + json) }
    public mutating func number(_ key: String, _ value: Double) {
        let text: String
        if !value.isFinite {
            text = "null"
        } else if value == value.rounded() && abs(value) < 9e15 {
            text = String(Int64(value))
        } else {
            text = "\(value)"
        }
        fields.append(Self.quote(key) + ":" + text)
    }

    public var text: String { "{" + fields.joined(separator: ",") + "}" }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
