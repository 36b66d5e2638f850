import TallySketches
import TallyWire

/// One deployment slice's heaviest **tenants** (SNAPSHOT.md, "Heavy hitters"): the values of
/// the heavy-hitter tag (``TagPolicy/heavyHitterKey``, e.g. `tenant`) ranked by requests and
/// by cost (US dollars), in two Space-Saving summaries of the slice's capacity k, with the
/// guarantees of ``HeavyHitters`` (every estimate ≥ the tenant's true weight and at most
/// W/k more; every tenant heavier than W/k held).
///
/// A tenant's key in the summaries is ``IdentifierHash`` of its name (FNV-1a-64 of the UTF-8
/// bytes, 0 sent as 1), the hash producers apply to user ids, so collectors and readers
/// derive the same key from the name and ties between equal estimates break alike
/// everywhere. Two names with the same hash (about 2⁻⁶⁴ a pair) count as one tenant, named by
/// the one that sorts first.
public struct TenantHeavyHitters: Sendable {
    /// The tag key whose values these are (`tenant`).
    public var tagKey: String
    /// Weight 1 a frame carrying the tag.
    public var byRequests: HeavyHitters
    /// Weight: the frame's cost in US dollars, when priced and above 0.
    public var byCost: HeavyHitters
    /// The name of every key either summary holds (and no others).
    public var names: [UInt64: String]

    /// - Throws: ``SketchError/invalidField(field:detail:)`` when the capacities differ or a
    ///   held key has no name or a name that does not hash to it.
    public init(tagKey: String, byRequests: HeavyHitters, byCost: HeavyHitters, names: [UInt64: String]) throws(SketchError) {
        guard byRequests.capacity == byCost.capacity else {
            throw .invalidField(field: "tenant heavy hitters", detail: "capacities \(byRequests.capacity) and \(byCost.capacity)")
        }
        var held: [UInt64: String] = [:]
        for e in byRequests.entries + byCost.entries {
            guard let name = names[e.key], IdentifierHash.hash(name) == e.key else {
                throw .invalidField(field: "tenant heavy-hitter key \(e.key)", detail: "no name that hashes to it")
            }
            held[e.key] = name
        }
        self.tagKey = tagKey
        self.byRequests = byRequests
        self.byCost = byCost
        self.names = held
    }

    /// Summaries keyed by something else (the engine's symbols) with `name` of each key:
    /// re-keyed by the names' hashes; keys whose names hash alike are added together.
    public init(tagKey: String, byRequests: HeavyHitters, byCost: HeavyHitters,
                naming name: (UInt64) -> String) throws(SketchError) {
        var names: [UInt64: String] = [:]
        func rekeyed(_ summary: HeavyHitters) throws(SketchError) -> HeavyHitters {
            var entries: [UInt64: HeavyHitters.Entry] = [:]
            for e in summary.entries {
                let tenant = name(e.key), key = IdentifierHash.hash(tenant)
                if let other = names[key], other != tenant { names[key] = min(other, tenant) } else { names[key] = tenant }
                if let held = entries[key] {
                    entries[key] = .init(key: key, estimate: held.estimate + e.estimate, error: held.error + e.error)
                } else {
                    entries[key] = .init(key: key, estimate: e.estimate, error: e.error)
                }
            }
            return try HeavyHitters(capacity: summary.capacity, totalWeight: summary.totalWeight,
                                    entries: Array(entries.values))
        }
        try self.init(tagKey: tagKey, byRequests: try rekeyed(byRequests), byCost: try rekeyed(byCost), names: names)
    }

    /// k of both summaries.
    public var capacity: Int { byRequests.capacity }

    /// Held tenants by requests, heaviest first, with their names.
    public var topByRequests: [(name: String, entry: HeavyHitters.Entry)] { byRequests.entries.map { (names[$0.key] ?? "", $0) } }
    /// Held tenants by cost, heaviest first, with their names.
    public var topByCost: [(name: String, entry: HeavyHitters.Entry)] { byCost.entries.map { (names[$0.key] ?? "", $0) } }

    /// Merges `other`'s summaries into these (``HeavyHitters/merged(with:)``).
    /// - Throws: ``SketchError/parameterMismatch(_:)`` when the tag keys or capacities differ.
    public mutating func merge(_ other: TenantHeavyHitters) throws(SketchError) {
        guard tagKey == other.tagKey else { throw .parameterMismatch("heavy-hitter tag \(tagKey)/\(other.tagKey)") }
        let requests = try byRequests.merged(with: other.byRequests), cost = try byCost.merged(with: other.byCost)
        var names: [UInt64: String] = [:]
        for e in requests.entries + cost.entries { names[e.key] = self.names[e.key] ?? other.names[e.key] }
        self = try TenantHeavyHitters(tagKey: tagKey, byRequests: requests, byCost: cost, names: names)
    }
}
