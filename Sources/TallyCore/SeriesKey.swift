import TallyWire

/// The identity of a series: a frame's dimensions as symbols (``SymbolTable``),
/// with tags sorted by key symbol so that the same cohort always gives the same key
/// whatever the producer's tag order. A plain value of 88 bytes (no references).
///
/// A frame's key also carries its **breakdown tags** (``TagPolicy``) in the slots after its
/// dimension tags; they are not part of the identity (equality and hash ignore them) and
/// name the cohort aggregates the frame also feeds (``cohortKey(_:)``). A cohort aggregate's
/// own key is its deployment slice plus that one tag, marked ``isCohort``. Likewise it
/// carries the symbol of its value of the heavy-hitter tag (``heavyHitterValue``, in what
/// was padding), which names a tenant in its slice's heavy hitters, not a series.
public struct SeriesKey: Sendable, Hashable {
    public var model: UInt32
    public var modelVersion: UInt32
    public var promptVersion: UInt32
    public var route: UInt32
    public var ring: DeploymentRing
    /// Dimension tags (part of the identity).
    public var tagCount: UInt8
    /// Breakdown tags after them (not part of the identity); 0 in a cohort key.
    public var breakdownCount: UInt8 = 0
    /// Whether this is the key of a cohort aggregate (its one tag is a breakdown tag).
    public var isCohort = false
    /// Symbol of the frame's value of ``TagPolicy/heavyHitterKey`` (``SymbolTable/none``
    /// without one); not part of the identity. Only a frame's key carries it.
    public var heavyHitterValue: UInt32 = 0
    /// Tags 0 ..< tagCount as `key << 32 | value`, ascending; then the breakdown tags.
    public var tags: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    public init(model: UInt32, modelVersion: UInt32 = 0, promptVersion: UInt32 = 0, route: UInt32 = 0,
                ring: DeploymentRing = .stable, tags: [(key: UInt32, value: UInt32)] = []) {
        self.model = model
        self.modelVersion = modelVersion
        self.promptVersion = promptVersion
        self.route = route
        self.ring = ring
        tagCount = 0
        self.tags = (0, 0, 0, 0, 0, 0, 0, 0)
        for tag in tags.prefix(WireLimits.maxTags) { insertTag(key: tag.key, value: tag.value) }
    }

    /// The overflow series of a shard whose window is at its cardinality cap.
    public static let overflow = SeriesKey(model: SymbolTable.overflow)

    /// Tag `index` as (key, value) symbols.
    @inlinable
    public func tag(_ index: Int) -> (key: UInt32, value: UInt32) {
        let packed = withUnsafeBytes(of: tags) { $0.load(fromByteOffset: index &* 8, as: UInt64.self) }
        return (UInt32(truncatingIfNeeded: packed >> 32), UInt32(truncatingIfNeeded: packed))
    }

    /// Adds a tag keeping the tags sorted (insertion sort: at most 8).
    @inlinable
    public mutating func insertTag(key: UInt32, value: UInt32) {
        let packed = UInt64(key) << 32 | UInt64(value)
        let count = Int(tagCount)
        guard count < WireLimits.maxTags else { return }
        withUnsafeMutableBytes(of: &tags) { raw in
            var i = count
            while i > 0 && raw.load(fromByteOffset: (i &- 1) &* 8, as: UInt64.self) > packed {
                raw.storeBytes(of: raw.load(fromByteOffset: (i &- 1) &* 8, as: UInt64.self), toByteOffset: i &* 8, as: UInt64.self)
                i &-= 1
            }
            raw.storeBytes(of: packed, toByteOffset: i &* 8, as: UInt64.self)
        }
        tagCount &+= 1
    }

    /// Adds a breakdown tag after the dimension tags (add every dimension tag first);
    /// ignored once the 8 slots are full.
    @inlinable
    public mutating func appendBreakdown(key: UInt32, value: UInt32) {
        let slot = Int(tagCount) &+ Int(breakdownCount)
        guard slot < WireLimits.maxTags else { return }
        withUnsafeMutableBytes(of: &tags) { $0.storeBytes(of: UInt64(key) << 32 | UInt64(value), toByteOffset: slot &* 8, as: UInt64.self) }
        breakdownCount &+= 1
    }

    /// Breakdown tag `index` (0 ..< breakdownCount) as (key, value) symbols.
    @inlinable
    public func breakdownTag(_ index: Int) -> (key: UInt32, value: UInt32) { tag(Int(tagCount) &+ index) }

    /// The key of the cohort aggregate for breakdown tag `index`: this key's deployment slice
    /// (model, versions, route, ring; no dimension tags) and that tag.
    @inlinable
    public func cohortKey(_ index: Int) -> SeriesKey {
        let (key, value) = breakdownTag(index)
        return cohortKey(packedTag: UInt64(key) << 32 | UInt64(value))
    }

    /// ``cohortKey(_:)`` of a breakdown tag given as `key << 32 | value` (as ``tags`` holds it).
    @inlinable @inline(__always)
    func cohortKey(packedTag: UInt64) -> SeriesKey {
        var cohort = SeriesKey(model: model, modelVersion: modelVersion, promptVersion: promptVersion, route: route, ring: ring)
        cohort.tags.0 = packedTag
        cohort.tagCount = 1
        cohort.isCohort = true
        return cohort
    }

    /// A 64-bit hash of the key's identity (model, versions, route, ring, whether it is a
    /// cohort's, and its dimension tags); the shard of a series is the high word of
    /// `routingHash × shardCount`, its first index slot comes from bits 29 and up
    /// (``WindowTable/home(_:)``).
    ///
    /// Two words at a time through a 64 × 64 → 128-bit multiply whose halves are XORed
    /// (the "mum" mix of Wang Yi's wyhash, with its published constants): a word pair costs
    /// one multiply, where mixing word by word cost one each plus shifts (resolving a 4-tag
    /// frame, hash included, 455 → 400 instructions; Benchmarks/README.md, "The ingest
    /// path"). A factor of 0 would zero the product whatever the other word: each factor is
    /// either a key word (two symbols) XOR a constant both of whose halves exceed 2³⁰, so
    /// never 0 for symbols below that, or carries the running hash (0 by a 2⁻⁶⁴ chance).
    @inlinable @inline(__always)
    public var routingHash: UInt64 { routingHash(afterSlice: sliceHash) }

    /// The first step of ``routingHash``: model, versions and route, the words every cohort
    /// key of a frame shares with it (``cohortKey(_:)``), so a frame's cohort keys hash them once.
    @inlinable @inline(__always)
    var sliceHash: UInt64 {
        SeriesKey.mum((UInt64(model) << 32 | UInt64(modelVersion)) ^ SeriesKey.k0,
                      (UInt64(promptVersion) << 32 | UInt64(route)) ^ SeriesKey.k1)
    }

    /// ``routingHash`` from `h`, this key's ``sliceHash``: the ring, the cohort flag and the
    /// dimension tags.
    @inlinable @inline(__always)
    func routingHash(afterSlice h: UInt64) -> UInt64 {
        let (k0, k1, k2, k3) = (SeriesKey.k0, SeriesKey.k1, SeriesKey.k2, SeriesKey.k3)
        let count = Int(tagCount)
        let flags = UInt64(isCohort ? 1 : 0) << 16 | UInt64(ring.rawValue) << 8 | UInt64(count)
        var h = SeriesKey.mum(h ^ flags ^ k2, (count > 0 ? tags.0 : 0) ^ k3)
        withUnsafeBytes(of: tags) { words in
            // The rest of the dimension tags in pairs; slots past `count` (breakdown tags)
            // are not part of the identity, so an odd last pair takes 0 for its second.
            var i = 1
            while i < count {
                let first = words.load(fromByteOffset: i &* 8, as: UInt64.self)
                let second = i &+ 1 < count ? words.load(fromByteOffset: (i &+ 1) &* 8, as: UInt64.self) : 0
                h = SeriesKey.mum(h ^ first ^ k0, second ^ k1)
                i &+= 2
            }
        }
        return SeriesKey.mum(h ^ k2, UInt64(count) ^ k3)
    }

    /// wyhash's "mum": the 128-bit product's halves XORed.
    @inlinable @inline(__always)
    static func mum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    @usableFromInline static let k0: UInt64 = 0xA076_1D64_78BD_642F
    @usableFromInline static let k1: UInt64 = 0xE703_7ED1_A0B4_28DB
    @usableFromInline static let k2: UInt64 = 0x8EBC_6AF0_9C88_C6E3
    @usableFromInline static let k3: UInt64 = 0x5899_65CC_7537_4CC3

    /// Compares the dimension tag slots as words (the per-frame path compares every
    /// record's key with its series' key once), each slot by its constant index: viewed as
    /// bytes, both 64-byte tuples were first copied to the stack (~47 instructions a frame
    /// in `aggregate-100`, Benchmarks/README.md).
    @inlinable
    public static func == (a: SeriesKey, b: SeriesKey) -> Bool {
        guard a.model == b.model, a.modelVersion == b.modelVersion, a.promptVersion == b.promptVersion,
              a.route == b.route, a.ring == b.ring, a.tagCount == b.tagCount, a.isCohort == b.isCohort else { return false }
        let count = a.tagCount
        if count == 0 { return true }
        if a.tags.0 != b.tags.0 { return false }
        if count == 1 { return true }
        if a.tags.1 != b.tags.1 { return false }
        if count == 2 { return true }
        if a.tags.2 != b.tags.2 { return false }
        if count == 3 { return true }
        if a.tags.3 != b.tags.3 { return false }
        if count == 4 { return true }
        if a.tags.4 != b.tags.4 { return false }
        if count == 5 { return true }
        if a.tags.5 != b.tags.5 { return false }
        if count == 6 { return true }
        if a.tags.6 != b.tags.6 { return false }
        return count == 7 || a.tags.7 == b.tags.7
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(routingHash) }
}
