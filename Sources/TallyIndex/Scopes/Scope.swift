import TallyCore
import TallyWire

/// A slice of the fleet that the index judges: the roll-up (merge) of every series
/// whose labels match it. Identified by a stable text id (INDEX.md, "Scopes"):
/// `fleet`, `model=M`, `model=M,version=V`, `prompt_version=P`, `route=R`, `ring=canary`,
/// `model=M,ring=canary`, or a cohort tag `KEY=VALUE` (e.g. `lang=de`).
public struct Scope: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable, Comparable {
        case fleet
        case model
        case modelVersion = "model_version"
        case promptVersion = "prompt_version"
        case route
        case ring
        case modelRing = "model_ring"
        case cohort

        public static func < (a: Kind, b: Kind) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    public let kind: Kind
    /// The matched labels as (name, value) pairs in id order; empty for the fleet.
    public let labels: [Label]

    public struct Label: Sendable, Hashable {
        public let name: String
        public let value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(kind: Kind, labels: [Label]) {
        self.kind = kind
        self.labels = labels
    }

    public static let fleet = Scope(kind: .fleet, labels: [])

    /// The stable text id (see the type's doc).
    public var id: String {
        labels.isEmpty ? "fleet" : labels.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
    }
    public var description: String { id }

    /// The model this scope is about, if it names one.
    public var model: String? { labels.first { $0.name == "model" }?.value }

    public static func < (a: Scope, b: Scope) -> Bool { (a.kind, a.id) < (b.kind, b.id) }

    /// The scope of `kind` that a series with `labels` belongs to; nil when the
    /// series has no value for it (e.g. no tag `key`, an empty prompt version).
    /// - Parameter cohortKey: the tag key, for ``Kind/cohort`` only.
    public static func of(_ labels: SeriesLabels, kind: Kind, cohortKey: String = "") -> Scope? {
        func one(_ name: String, _ value: String) -> Scope? {
            value.isEmpty ? nil : Scope(kind: kind, labels: [Label(name, value)])
        }
        switch kind {
        case .fleet: return .fleet
        case .model: return one("model", labels.model)
        case .modelVersion:
            return Scope(kind: kind, labels: [Label("model", labels.model), Label("version", labels.modelVersion)])
        case .promptVersion: return one("prompt_version", labels.promptVersion)
        case .route: return one("route", labels.route)
        case .ring: return one("ring", labels.ring.name)
        case .modelRing:
            return Scope(kind: kind, labels: [Label("model", labels.model), Label("ring", labels.ring.name)])
        case .cohort:
            guard let tag = labels.tags.first(where: { $0.key == cohortKey }) else { return nil }
            return one(tag.key, tag.value)
        }
    }
}
