/// Metric families and their text exposition: Prometheus text format 0.0.4 and
/// OpenMetrics 1.0 (`# EOF`, counters' `# TYPE` without `_total`, samples with it).
public enum MetricType: String, Sendable {
    case counter, gauge, histogram
}

/// One family: its name (for a counter, without `_total`), type, HELP text, optional
/// unit (the name then ends with `_<unit>`) and samples.
public struct MetricFamily: Sendable {
    public var name: String
    public var type: MetricType
    public var help: String
    public var unit: String?
    public var samples: [Sample] = []

    public struct Sample: Sendable {
        /// Appended to the family name: `_total` (counters), `_bucket`, `_sum`, `_count`, or "".
        public var suffix: String
        public var labels: [(String, String)]
        public var value: Double
    }

    public init(name: String, type: MetricType, help: String, unit: String? = nil) {
        self.name = name
        self.type = type
        self.help = help
        self.unit = unit
    }

    /// Adds a sample of a counter (`_total`) or gauge.
    public mutating func add(_ labels: [(String, String)] = [], _ value: Double) {
        samples.append(Sample(suffix: type == .counter ? "_total" : "", labels: labels, value: value))
    }
}

public enum ExpositionFormat: Sendable {
    case prometheus
    case openMetrics

    public var contentType: String {
        switch self {
        case .prometheus: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// OpenMetrics when the `Accept` header asks for `application/openmetrics-text`.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .prometheus }
        return accept.lowercased().contains("application/openmetrics-text") ? .openMetrics : .prometheus
    }

    /// The families as text; families without samples are left out.
    /// - Parameter created: when the counters and histograms started from zero (s since
    ///   1970: tallyd's start); OpenMetrics then gives each counter and histogram point
    ///   its `_created` sample. The text format 0.0.4 has no such sample.
    public func render(_ families: [MetricFamily], created: Double? = nil) -> String {
        var out = ""
        out.reserveCapacity(families.count * 256)
        for family in families where !family.samples.isEmpty {
            let header = self == .prometheus && family.type == .counter ? family.name + "_total" : family.name
            out += "# HELP \(header) \(Self.escapeHelp(family.help))\n"
            out += "# TYPE \(header) \(family.type.rawValue)\n"
            if self == .openMetrics, let unit = family.unit { out += "# UNIT \(header) \(unit)\n" }
            for sample in family.samples {
                out += family.name + sample.suffix + Self.labelText(sample.labels)
                out += " " + Self.number(sample.value) + "\n"
                if self == .openMetrics, let created,
                   (family.type == .counter && sample.suffix == "_total") || (family.type == .histogram && sample.suffix == "_count") {
                    out += family.name + "_created" + Self.labelText(sample.labels) + " " + Self.number(created) + "\n"
                }
            }
        }
        if self == .openMetrics { out += "# EOF\n" }
        return out
    }

    /// `{a="x",b="y"}`, or "" without labels.
    static func labelText(_ labels: [(String, String)]) -> String {
        labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// A label value escaped per the text formats: backslash, double quote, line feed.
    static func escapeLabel(_ value: String) -> String {
        replacing(value, ["\\": "\\\\", "\"": "\\\"", "\n": "\\n"])
    }

    /// HELP text escapes backslash and line feed only.
    static func escapeHelp(_ text: String) -> String { replacing(text, ["\\": "\\\\", "\n": "\\n"]) }

    /// `text` with each character found in `escapes` replaced by its escape (one pass).
    /// Scalars, not characters: a CR LF pair is one Character but two scalars.
    static func replacing(_ text: String, _ escapes: [Unicode.Scalar: String]) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            if let escaped = escapes[c] { out += escaped } else { out.unicodeScalars.append(c) }
        }
        return out
    }

    /// Integers without a fraction, `+Inf`, `-Inf`, `NaN`, else the shortest round-trip form.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 9.0e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
