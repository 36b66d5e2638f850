import TallySketches

/// One deployment slice's heavy hitters in a snapshot (SNAPSHOT.md, "Heavy hitters"): the
/// heaviest hashed user ids by requests and by cost (US dollars), each a Space-Saving
/// summary of the same capacity k (``HeavyHitters``). Per summary, with W its total
/// weight: every estimate is at least the user's true weight and at most W/k more
/// (``HeavyHitters/Entry/error`` is that key's own bound), and every user heavier than W/k
/// is held. Merging (shards, windows, collectors) keeps both statements for the merged W.
/// With a heavy-hitter tag, the slice also ranks that tag's values (``tenants``).
public struct SliceHeavyHitters: Sendable {
    /// The slice: model, model version, prompt version, route, ring; no tags.
    public var labels: SeriesLabels
    /// Weight 1 a frame with a user hash.
    public var usersByRequests: HeavyHitters
    /// Weight: the frame's cost in US dollars, when priced and above 0.
    public var usersByCost: HeavyHitters
    /// The heaviest values of the heavy-hitter tag (tenants); nil when the collector kept none.
    public var tenants: TenantHeavyHitters?

    public init(labels: SeriesLabels, usersByRequests: HeavyHitters, usersByCost: HeavyHitters,
                tenants: TenantHeavyHitters? = nil) {
        self.labels = labels
        self.usersByRequests = usersByRequests
        self.usersByCost = usersByCost
        self.tenants = tenants
    }

    /// A user hash as the JSON lines, the dashboard and PostgreSQL write it: 16 lower-case hex digits.
    public static func userText(_ key: UInt64) -> String {
        let hex = String(key, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// k of both summaries.
    public var capacity: Int { usersByRequests.capacity }

    /// `slices` merged into one summary per kind (``merge(_:)``), e.g. a window's over the
    /// fleet: the bounds hold for the merged W. The labels are the first slice's (they name
    /// no slice any more); nil for no slices.
    /// - Throws: ``SketchError/parameterMismatch(_:)`` when capacities or tenant tag keys
    ///   differ (one collector never writes such slices; merged collectors may).
    public static func merged(_ slices: [SliceHeavyHitters]) throws(SketchError) -> SliceHeavyHitters? {
        guard var merged = slices.first else { return nil }
        for slice in slices.dropFirst() { try merged.merge(slice) }
        return merged
    }

    /// Merges `other`'s summaries into these (``HeavyHitters/merged(with:)``). Tenant
    /// summaries merge when both have them; when only one has, it is kept as it is (it covers
    /// the frames of the collectors that ranked tenants).
    /// - Throws: ``SketchError/parameterMismatch(_:)`` when the capacities or the tenants'
    ///   tag keys differ.
    public mutating func merge(_ other: SliceHeavyHitters) throws(SketchError) {
        usersByRequests = try usersByRequests.merged(with: other.usersByRequests)
        usersByCost = try usersByCost.merged(with: other.usersByCost)
        if let theirs = other.tenants {
            if tenants == nil {
                guard theirs.capacity == capacity else { throw .parameterMismatch("heavy-hitter capacity \(capacity)/\(theirs.capacity)") }
                tenants = theirs
            } else {
                try tenants!.merge(theirs)
            }
        }
    }
}
