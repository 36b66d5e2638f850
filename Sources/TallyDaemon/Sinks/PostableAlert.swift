import Foundation
import TallyIndex

/// One alert as Alertmanager's API v2 takes it (`POST /api/v2/alerts`, a JSON array of
/// `postableAlert`), made from a window document's alerts (INDEX.md, "Alerts").
///
/// A firing alert is sent without `endsAt` (Alertmanager holds it active for its
/// `resolve_timeout` and the next window's post renews it); a resolved one with `endsAt`,
/// the end of the window that resolved it. Both carry the same labels, which is how
/// Alertmanager matches them:
///
/// | label | value |
/// |---|---|
/// | `alertname` | the alert name with `:` as `_` (`kpi_latency_p95`, `canary_roll_back`) |
/// | `tally_alert` | the alert name (`kpi:latency_p95`) |
/// | `severity`, `scope`, `fingerprint`, `owner` | the alert's |
/// | `model`, `version`, `prompt_version`, `route`, `ring` | from the scope id, when in it |
/// | `cohort_<key>` | a cohort scope `K=V`: `cohort_K` = V (K's characters outside `[A-Za-z0-9_]` as `_`) |
///
/// Labels whose value would be empty (no owner, `version=`) are left out.
/// Annotations: `summary`, `action`, and `value` and `threshold` when defined.
public struct PostableAlert: Sendable, Codable, Equatable {
    public var labels: [String: String]
    public var annotations: [String: String]
    /// RFC 3339, UTC.
    public var startsAt: String
    /// RFC 3339, UTC; only on resolved alerts.
    public var endsAt: String?
    public var generatorURL: String

    /// Scope labels that keep their name; any other label of a scope id is a cohort key.
    static let scopeLabels: Set<String> = ["model", "version", "prompt_version", "route", "ring"]

    /// The alert, firing (`endsAtMicros` nil) or resolved at `endsAtMicros`.
    public init(_ alert: Alert, collector: String, endsAtMicros: UInt64? = nil) {
        labels = PostableAlert.labels(alert)
        var annotations = ["summary": alert.summary, "action": alert.action]
        if let value = alert.value { annotations["value"] = String(value) }
        if let threshold = alert.threshold { annotations["threshold"] = String(threshold) }
        self.annotations = annotations
        startsAt = PostableAlert.rfc3339(micros: alert.startsAtMicros)
        endsAt = endsAtMicros.map(PostableAlert.rfc3339(micros:))
        generatorURL = "http://tally/\(PostableAlert.percentEncoded(collector))/alerts/\(alert.fingerprint)"
    }

    /// What a window document tells Alertmanager: every firing open alert (pending ones
    /// are not sent), then every `resolved` event of the window with its `endsAt`.
    /// Empty for span documents, whose `events` are empty and whose `open` is the window's.
    public static func alerts(in document: IndexDocument) -> [PostableAlert] {
        guard document.span == "window" else { return [] }
        return alerts(collector: document.collector, open: document.alerts.open, events: document.alerts.events)
    }

    /// The same from the parts of a document.
    public static func alerts(collector: String, open: [Alert], events: [AlertEvent]) -> [PostableAlert] {
        open.filter { $0.state == "firing" }.map { PostableAlert($0, collector: collector) }
            + events.filter { $0.state == "resolved" }.map {
                PostableAlert($0.alert, collector: collector, endsAtMicros: $0.alert.endsAtMicros ?? $0.atMicros)
            }
    }

    /// The alert's labels (see the table above).
    public static func labels(_ alert: Alert) -> [String: String] {
        var labels = ["alertname": alert.name.replacingOccurrences(of: ":", with: "_"), "tally_alert": alert.name,
                      "severity": alert.severity, "scope": alert.scope, "fingerprint": alert.fingerprint,
                      "owner": alert.owner]
        if alert.scope != "fleet" {
            for part in alert.scope.split(separator: ",") {
                let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard pair.count == 2, !pair[0].isEmpty else { continue }  // a fairness alert's scope is a bare cohort key
                let name = String(pair[0])
                labels[scopeLabels.contains(name) ? name : "cohort_" + labelName(name)] = String(pair[1])
            }
        }
        return labels.filter { !$0.value.isEmpty }
    }

    /// The JSON array Alertmanager (or a webhook) is posted (keys sorted).
    public static func encode(_ alerts: [PostableAlert]) throws(SinkError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(alerts))
        } catch {
            throw SinkError("alerts not encoded: \(error)")  // cannot happen: strings only
        }
    }

    /// `2026-12-01T10:39:05Z`, with 6 fractional digits when `micros` is not whole seconds.
    public static func rfc3339(micros: UInt64) -> String {
        let seconds = Int64(micros / 1_000_000), fraction = Int(micros % 1_000_000)
        // Civil date from days since 1970-01-01 (H. Hinnant's days-to-civil algorithm).
        let z = seconds / 86_400 + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let time = seconds % 86_400
        func pad(_ n: Int64, _ width: Int) -> String {
            let digits = String(n)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(time / 3_600, 2)):\(pad(time / 60 % 60, 2)):\(pad(time % 60, 2))"
        if fraction != 0 { text += "." + pad(Int64(fraction), 6) }
        return text + "Z"
    }

    /// `name` with every character outside `[A-Za-z0-9_]` as `_` (a Prometheus label name).
    static func labelName(_ name: String) -> String {
        String(name.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "_") ? Character(scalar) : "_"
        })
    }

    /// `text` with every byte outside RFC 3986's unreserved characters as `%XX`.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return out
    }
}
