import Synchronization

/// A request's labels — model, model and prompt versions, route, ring and cohort tags —
/// checked once and reused for every request that carries them (an inference server has
/// few label sets: one per deployment and tenant, say). With
/// ``BatchEncoder/append(_:_:)`` a frame then costs the encoder its numbers only: the
/// labels' strings are interned once per batch, not per frame (and not even that when the
/// batch starts with the last one's strings, ``BatchEncoder/carryStrings(from:)``).
///
/// Immutable and thread-safe; keep one per label set (e.g. in a dictionary or on the
/// deployment's handler) rather than making one per request.
public final class FrameLabels: Sendable {
    /// Unique in the process (never reused): the encoders' cache key.
    let id: UInt64
    private static let nextID = Atomic<UInt64>(1)
    public let model: String
    public let modelVersion: String?
    public let promptVersion: String?
    public let route: String?
    public let ring: DeploymentRing
    public let tags: [CohortTag]
    /// `tags.count`, read per frame without touching the array.
    let tagCount: Int
    /// The UTF-8 bytes of every string, one after another, in encoding order: model, then
    /// model version, prompt version and route when present, then each tag's key and value
    /// (at most 20 × 255 bytes).
    let utf8: [UInt8]
    /// Each of those strings, in order, as the encoder interns it (``BatchEncoder``): where
    /// its bytes are in ``utf8``, its `StringHash`, and its slot in a reference list
    /// (model 0, model version 1, prompt version 2, route 3, tags from 4;
    /// ``LabelReferenceCache/width``).
    let packed: [PackedString]

    struct PackedString {
        var hash: UInt64
        var offset: UInt16
        var length: UInt8
        var slot: UInt8
    }

    /// - Throws: ``WireError`` (`bad_string`, `too_many_tags`, `duplicate_tag_key`) when the
    ///   labels break FORMAT.md's rules: an empty string or one over 255 UTF-8 bytes, more
    ///   than 8 tags, two tags with one key.
    public init(model: String, modelVersion: String? = nil, promptVersion: String? = nil, route: String? = nil,
                ring: DeploymentRing = .stable, tags: [CohortTag] = []) throws(WireError) {
        func check(_ string: String, _ field: String) throws(WireError) {
            let length = string.utf8.count
            guard length > 0, length <= WireLimits.maxStringBytes else {
                throw WireError(.badString, frame: 0, field: field, value: UInt64(length))
            }
        }
        try check(model, "model")
        // Each string with its reference-list slot.
        var strings: [(String, UInt8)] = [(model, 0)]
        for (slot, (string, field)) in [(modelVersion, "model_version"), (promptVersion, "prompt_version"),
                                        (route, "route")].enumerated() {
            guard let string else { continue }
            try check(string, field)
            strings.append((string, UInt8(1 + slot)))
        }
        guard tags.count <= WireLimits.maxTags else {
            throw WireError(.tooManyTags, frame: 0, field: "tag_count", value: UInt64(tags.count))
        }
        for (index, tag) in tags.enumerated() {
            try check(tag.key, "tag[\(index)].key")
            try check(tag.value, "tag[\(index)].value")
            if tags[..<index].contains(where: { $0.key == tag.key }) {
                throw WireError(.duplicateTagKey, frame: 0, field: "tag[\(index)].key", value: UInt64(index))
            }
            strings.append((tag.key, UInt8(4 + 2 * index)))
            strings.append((tag.value, UInt8(5 + 2 * index)))
        }
        id = Self.nextID.add(1, ordering: .relaxed).oldValue
        self.model = model
        self.modelVersion = modelVersion
        self.promptVersion = promptVersion
        self.route = route
        self.ring = ring
        self.tags = tags
        tagCount = tags.count
        var utf8: [UInt8] = []
        var packed: [PackedString] = []
        for (string, slot) in strings {
            let bytes = Array(string.utf8)
            let hash = bytes.withUnsafeBytes { StringHash.hash($0) }
            packed.append(PackedString(hash: hash, offset: UInt16(utf8.count), length: UInt8(bytes.count), slot: slot))
            utf8 += bytes
        }
        self.utf8 = utf8
        self.packed = packed
    }

    /// The labels of `frame`.
    public convenience init(of frame: borrowing TraceFrame) throws(WireError) {
        try self.init(model: frame.model, modelVersion: frame.modelVersion, promptVersion: frame.promptVersion,
                      route: frame.route, ring: frame.ring, tags: frame.tags)
    }
}
