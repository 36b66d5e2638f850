import TallySketches

/// The heavy hitters of one shard's window: for each deployment slice (model, model
/// version, prompt version, route, ring; the overflow key is a slice of its own), the
/// heaviest hashed user ids by requests and by cost, each in a Space-Saving summary of
/// ``capacity`` counters (``HeavyHitters``: every estimate over-counts by at most W/k and
/// never under-counts; every user heavier than W/k is held).
///
/// With a heavy-hitter tag (``TagPolicy/heavyHitterKey``, e.g. `tenant`), each slice also
/// ranks that tag's values (**tenants**) the same two ways, keyed by their symbols here.
///
/// Fed per frame by ``WindowTable`` when the engine is configured with a capacity
/// (``EngineConfiguration/heavyHitterCapacity``): frames without a user hash (0) are in no
/// user summary and frames without the tag in no tenant summary; frames without a price
/// (cost NaN) or with cost 0 count by requests only. A frame's cost counts as
/// ``HeavyHitterCost/weight(_:)``: rounded up to a multiple of 2⁻³² USD.
/// A slice's summaries are created at its first frame with a user or a tenant; past ``maxSlices``
/// slices, or when ``EngineMemory`` refuses ``bytesPerSlice(capacity:)``, the frame is
/// counted in ``refused`` and is in no summary (it is in its series all the same).
///
/// Cost per frame: the slice's routing hash and a probe of an open-addressing index, and
/// two inserts into ``FlatSpaceSaving`` counters (a scan of k keys each; no allocation).
/// At seal the counters become ``HeavyHitters`` summaries. Owned by its ``WindowTable``;
/// not thread-safe.
@usableFromInline
final class HeavyHitterTable {
    /// One slice's counters.
    struct Slice {
        let key: SeriesKey
        var usersByRequests: FlatSpaceSaving
        var usersByCost: FlatSpaceSaving
        /// Keyed by the tenant's symbol; nil without a heavy-hitter tag.
        var tenantsByRequests: FlatSpaceSaving?
        var tenantsByCost: FlatSpaceSaving?
    }

    /// k, counters a summary holds.
    let capacity: Int
    /// The heavy-hitter tag whose values (tenants) slices rank too; nil: none.
    let tenantKey: String?
    /// Whether slices rank tenants too (`tenantKey` is set).
    let tracksTenants: Bool
    /// Slices this table takes.
    let maxSlices: Int
    // Unchecked: one thread owns the table (as ``WindowTable``'s state), and the dynamic
    // exclusivity checks of a class's stored properties cost ~200 instructions a frame here.
    @exclusivity(unchecked) private(set) var slices: [Slice] = []
    /// Open addressing by the slice key's routing hash: slice number + 1 (0: empty), at a
    /// load of at most ½.
    @exclusivity(unchecked) private var index: UnsafeMutablePointer<(hash: UInt64, slice: Int)>
    @exclusivity(unchecked) private var indexMask = 15
    /// Frames with a user hash whose slice had no summaries (cap or memory).
    @exclusivity(unchecked) var refused: UInt64 = 0

    init(capacity: Int, maxSlices: Int, tenantKey: String? = nil) {
        self.capacity = capacity
        self.maxSlices = maxSlices
        self.tenantKey = tenantKey
        tracksTenants = tenantKey != nil
        index = .allocate(capacity: indexMask + 1)
        index.initialize(repeating: (0, 0), count: indexMask + 1)
    }

    deinit {
        for slice in slices {
            slice.usersByRequests.release()
            slice.usersByCost.release()
            slice.tenantsByRequests?.release()
            slice.tenantsByCost?.release()
        }
        index.deallocate()
    }

    /// What a slice may hold at most: its two summaries' 2 × 24 × k bytes, the summaries
    /// they become at seal (2 × k × ~72 bytes: an entry, its dictionary slot and slack), and
    /// 256 bytes of fixed parts; counted as 256 + 192 × k, and 256 + 384 × k with tenant
    /// summaries (their names are symbols the table holds anyway).
    static func bytesPerSlice(capacity: Int, tenants: Bool = false) -> Int { 256 + (tenants ? 384 : 192) * capacity }

    /// ``bytesPerSlice(capacity:tenants:)`` of this table.
    var bytesPerSlice: Int { HeavyHitterTable.bytesPerSlice(capacity: capacity, tenants: tracksTenants) }

    /// The slice `key` belongs to: its labels without tags (a cohort key's slice is its
    /// series' slice; the overflow key, which has no tags, is its own slice).
    @inline(__always)
    static func sliceKey(of key: SeriesKey) -> SeriesKey {
        var slice = key
        slice.tagCount = 0
        slice.breakdownCount = 0
        slice.isCohort = false
        slice.heavyHitterValue = SymbolTable.none
        slice.tags = (0, 0, 0, 0, 0, 0, 0, 0)
        return slice
    }

    /// The number of `slice` (whose routing hash is `hash`), if it has counters.
    @inline(__always)
    func slot(of slice: SeriesKey, hash: UInt64) -> Int? {
        var i = Int(truncatingIfNeeded: hash >> 29) & indexMask
        while index[i].slice != 0 {
            if index[i].hash == hash && slices[index[i].slice - 1].key == slice { return index[i].slice - 1 }
            i = (i + 1) & indexMask
        }
        return nil
    }

    /// Whether another slice may be added (the memory check is the caller's).
    var hasRoom: Bool { slices.count < maxSlices }

    /// Adds empty counters for `slice` (routing hash `hash`); returns their number.
    func append(_ slice: SeriesKey, hash: UInt64) -> Int {
        slices.append(Slice(key: slice, usersByRequests: FlatSpaceSaving(capacity: capacity),
                            usersByCost: FlatSpaceSaving(capacity: capacity),
                            tenantsByRequests: tracksTenants ? FlatSpaceSaving(capacity: capacity) : nil,
                            tenantsByCost: tracksTenants ? FlatSpaceSaving(capacity: capacity) : nil))
        if 2 * slices.count > indexMask + 1 { growIndex() } else { place(hash, slices.count) }
        return slices.count - 1
    }

    /// Counts one frame's user (when `values.userHash` ≠ 0) and tenant (symbol `tenant`,
    /// when not ``SymbolTable/none`` and tenants are tracked) in slice `n`: one request, and
    /// its cost when priced and > 0.
    @inline(__always)
    func add(_ values: FrameValues, tenant: UInt32, to n: Int) {
        let priced = values.cost > 0
        let cost = priced ? HeavyHitterCost.weight(values.cost) : 0
        slices.withUnsafeMutableBufferPointer { slices in
            if values.userHash != 0 {
                slices[n].usersByRequests.insert(values.userHash, weight: 1)
                if priced { slices[n].usersByCost.insert(values.userHash, weight: cost) }
            }
            if tenant != SymbolTable.none && tracksTenants {
                slices[n].tenantsByRequests!.insert(UInt64(tenant), weight: 1)
                if priced { slices[n].tenantsByCost!.insert(UInt64(tenant), weight: cost) }
            }
        }
    }

    private func place(_ hash: UInt64, _ sliceNumber: Int) {
        var i = Int(truncatingIfNeeded: hash >> 29) & indexMask
        while index[i].slice != 0 { i = (i + 1) & indexMask }
        index[i] = (hash, sliceNumber)
    }

    private func growIndex() {
        index.deallocate()
        indexMask = (indexMask + 1) * 2 - 1
        index = .allocate(capacity: indexMask + 1)
        index.initialize(repeating: (0, 0), count: indexMask + 1)
        for (n, slice) in slices.enumerated() { place(slice.key.routingHash, n + 1) }
    }
}
