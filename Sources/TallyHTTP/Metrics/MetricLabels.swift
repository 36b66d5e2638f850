import TallyCore

/// Which of a series' labels the fleet families of `/metrics` expose (configuration
/// `http_metric_labels`; default `model`, `model_version`, `ring`).
///
/// Names: `model`, `model_version`, `prompt_version`, `route`, `ring`, and `tag:KEY` for a
/// cohort tag (exposed as label `KEY`; a series without the tag gets ""). Fewer labels
/// mean fewer label sets: series that differ only in a label not exposed add up.
public struct MetricLabels: Sendable, Hashable {
    public enum Dimension: Sendable, Hashable {
        case model, modelVersion, promptVersion, route, ring
        case tag(String)
    }

    public let dimensions: [Dimension]
    /// The Prometheus label name of each dimension.
    public let names: [String]

    public static let standard = try! MetricLabels(["model", "model_version", "ring"])

    /// - Throws: ``MetricLabelsError`` naming the first unknown or repeated name, a tag key
    ///   that is not a valid Prometheus label name, or an empty list.
    public init(_ configured: [String]) throws(MetricLabelsError) {
        guard !configured.isEmpty else { throw MetricLabelsError("expected at least one label") }
        var dimensions: [Dimension] = [], names: [String] = []
        for name in configured {
            let dimension: Dimension
            switch name {
            case "model": dimension = .model
            case "model_version": dimension = .modelVersion
            case "prompt_version": dimension = .promptVersion
            case "route": dimension = .route
            case "ring": dimension = .ring
            default:
                guard name.hasPrefix("tag:") else {
                    throw MetricLabelsError("unknown label \"\(name)\" (model, model_version, prompt_version, route, ring or tag:KEY)")
                }
                let key = String(name.dropFirst(4))
                guard Self.isLabelName(key), !["model", "model_version", "prompt_version", "route", "ring", "le", "kpi", "scope",
                                                "status", "kind", "severity"].contains(key) else {
                    throw MetricLabelsError("tag key \"\(key)\" is not usable as a Prometheus label name")
                }
                dimension = .tag(key)
            }
            let exposed = if case .tag(let key) = dimension { key } else { name }
            guard !names.contains(exposed) else { throw MetricLabelsError("label \"\(name)\" given twice") }
            dimensions.append(dimension)
            names.append(exposed)
        }
        self.dimensions = dimensions
        self.names = names
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved by Prometheus).
    static func isLabelName(_ s: String) -> Bool {
        guard let first = s.utf8.first, !s.hasPrefix("__") else { return false }
        func letter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
        return letter(first) && s.utf8.allSatisfy { letter($0) || ($0 >= 48 && $0 <= 57) }
    }

    /// The exposed values of a series' labels, in ``names`` order.
    func values(_ labels: SeriesLabels) -> [String] {
        dimensions.map { dimension in
            switch dimension {
            case .model: labels.model
            case .modelVersion: labels.modelVersion
            case .promptVersion: labels.promptVersion
            case .route: labels.route
            case .ring: labels.ring.name
            case .tag(let key): labels.tags.first { $0.key == key }?.value ?? ""
            }
        }
    }

    /// The label set a folded series counts under: every value `other` but the ring's.
    func folded(_ values: [String]) -> [String] {
        zip(dimensions, values).map { dimension, value in dimension == .ring ? value : "other" }
    }
}

public struct MetricLabelsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
