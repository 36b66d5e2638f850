/// A direct-mapped cache from a ``FrameLabels`` (its process-unique ``FrameLabels/id``)
/// to its string references in the encoder's current batch (``BatchEncoder/append(_:_:)``):
/// a hit costs an id compare and a generation compare. Ids are given out in sequence, so
/// up to ``size`` label sets made one after another never share a slot. Entries are
/// stamped with the batch's string generation (``StringIdentityCache``), so
/// ``BatchEncoder/reset()`` and a roll-back that removed strings drop them all in O(1). A
/// miss (a new label set, or two sets in one slot) interns the strings again:
/// correctness never depends on the cache.
@usableFromInline
struct LabelReferenceCache {
    @usableFromInline static let size = 128
    /// References per entry: model, model version, prompt version, route, then 8 tags' key and value.
    @usableFromInline static let width = 4 + 2 * WireLimits.maxTags
    @usableFromInline let ids: UnsafeMutablePointer<UInt64>
    @usableFromInline let stamps: UnsafeMutablePointer<UInt64>
    @usableFromInline let references: UnsafeMutablePointer<UInt16>

    init() {
        ids = .allocate(capacity: Self.size)
        ids.initialize(repeating: 0, count: Self.size)
        stamps = .allocate(capacity: Self.size)
        stamps.initialize(repeating: 0, count: Self.size)
        references = .allocate(capacity: Self.size * Self.width)
        references.initialize(repeating: WireLimits.noString, count: Self.size * Self.width)
    }

    func deallocate() {
        ids.deallocate()
        stamps.deallocate()
        references.deallocate()
    }

    /// The references of the labels with `id` stored in `generation`, or nil.
    @usableFromInline @inline(__always)
    func lookup(_ id: UInt64, generation: UInt64) -> UnsafeMutablePointer<UInt16>? {
        let slot = Int(truncatingIfNeeded: id) & (Self.size - 1)
        guard ids[slot] == id, stamps[slot] == generation else { return nil }
        return references + slot * Self.width
    }

    /// The entry of the labels with `id`, emptied (no lookup finds it) for the caller to
    /// fill its ``width`` references and then ``commit(_:generation:)`` them.
    func claim(_ id: UInt64) -> UnsafeMutablePointer<UInt16> {
        let slot = Int(truncatingIfNeeded: id) & (Self.size - 1)
        ids[slot] = 0  // ids start at 1: no lookup matches
        stamps[slot] = 0
        return references + slot * Self.width
    }

    /// Copies the entries of `other` valid in `otherGeneration` into this cache, valid here in
    /// `generation` (``BatchEncoder/carryStrings(from:)``: the references stay right because
    /// the string table they point into was copied too); the other entries are left alone.
    func copyValid(from other: LabelReferenceCache, generation otherGeneration: UInt64, as generation: UInt64) {
        for slot in 0..<Self.size where other.ids[slot] != 0 && other.stamps[slot] == otherGeneration {
            ids[slot] = other.ids[slot]
            stamps[slot] = generation
            (references + slot * Self.width).update(from: other.references + slot * Self.width, count: Self.width)
        }
    }

    /// Makes the entry ``claim(_:)`` gave out for `id` valid in `generation`.
    func commit(_ id: UInt64, generation: UInt64) {
        let slot = Int(truncatingIfNeeded: id) & (Self.size - 1)
        ids[slot] = id
        stamps[slot] = generation
    }
}
