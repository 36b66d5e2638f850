/// One decoded frame, as it stands in a validated batch: plain values, with strings
/// as references into the batch's string table (``BatchView/string(_:)``).
///
/// A trivially copyable value (no references), so it can be copied through rings
/// between threads. Fields carry the units of FORMAT.md; absent values hold the
/// sentinels of ``WireLimits``.
public struct WireFrame: Sendable, Equatable {
    public var eventTimeMicros: UInt64
    public var userHash: UInt64
    public var sessionHash: UInt64
    public var queueTimeMicros: UInt32
    /// ``WireLimits/absent32`` when absent.
    public var timeToFirstTokenMicros: UInt32
    public var totalLatencyMicros: UInt32
    public var inputTokens: UInt32
    public var outputTokens: UInt32
    public var cachedInputTokens: UInt32
    /// Prompt tokens written to a prompt cache (part of ``inputTokens``); 0 from revision 1.0 producers.
    public var cacheCreationInputTokens: UInt32
    /// Output tokens spent on reasoning (part of ``outputTokens``); 0 from revision 1.0 producers.
    public var reasoningOutputTokens: UInt32
    public var model: UInt16
    /// ``WireLimits/noString`` when absent; likewise the other optional references.
    public var modelVersion: UInt16
    public var promptVersion: UInt16
    public var route: UInt16
    public var errorClass: UInt16
    /// ``WireLimits/noCategory`` when absent.
    public var categoryID: UInt16
    public var status: RequestStatus
    public var ring: DeploymentRing
    public var outcome: OutcomeBits
    public var safetySeverity: SafetySeverity
    public var safetyKinds: SafetyKinds
    public var tagCount: UInt8
    /// Tags 0 ..< ``tagCount`` as `key << 16 | value` string references.
    public var tags: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

    /// Every field zero, absent or its default. Inlinable: ``BatchView``'s iterator starts
    /// each frame from it, and a call there costs ~30 Ir a frame.
    @inlinable
    public init() {
        eventTimeMicros = 0; userHash = 0; sessionHash = 0
        queueTimeMicros = 0; timeToFirstTokenMicros = WireLimits.absent32; totalLatencyMicros = 0
        inputTokens = 0; outputTokens = 0; cachedInputTokens = 0; cacheCreationInputTokens = 0; reasoningOutputTokens = 0
        model = 0; modelVersion = WireLimits.noString; promptVersion = WireLimits.noString
        route = WireLimits.noString; errorClass = WireLimits.noString; categoryID = WireLimits.noCategory
        status = .ok; ring = .stable; outcome = OutcomeBits(rawValue: 0)
        safetySeverity = .none; safetyKinds = []
        tagCount = 0; tags = (0, 0, 0, 0, 0, 0, 0, 0)
    }

    /// Tag `index` (0 ..< ``tagCount``) as (key, value) string references. Each call views
    /// a copy of all eight slots: a loop over every tag reads them through one view with
    /// ``tag(_:in:)`` instead.
    @inlinable
    public func tag(_ index: Int) -> (key: UInt16, value: UInt16) {
        precondition(index >= 0 && index < Int(tagCount), "tag index out of range")
        return withUnsafeBytes(of: tags) { WireFrame.tag(index, in: $0) }
    }

    /// Tag `index` (below the frame's ``tagCount``, unchecked) of a frame's ``tags`` seen as
    /// bytes (`withUnsafeBytes(of: frame.tags)`), as (key, value) string references.
    @inlinable @inline(__always)
    public static func tag(_ index: Int, in tags: UnsafeRawBufferPointer) -> (key: UInt16, value: UInt16) {
        let packed = tags.load(fromByteOffset: index &* 4, as: UInt32.self)
        return (UInt16(truncatingIfNeeded: packed >> 16), UInt16(truncatingIfNeeded: packed))
    }

    public static func == (a: WireFrame, b: WireFrame) -> Bool {
        guard a.tagCount == b.tagCount else { return false }
        for i in 0..<Int(a.tagCount) where a.tag(i) != b.tag(i) { return false }
        return a.eventTimeMicros == b.eventTimeMicros && a.userHash == b.userHash
            && a.sessionHash == b.sessionHash && a.queueTimeMicros == b.queueTimeMicros
            && a.timeToFirstTokenMicros == b.timeToFirstTokenMicros
            && a.totalLatencyMicros == b.totalLatencyMicros && a.inputTokens == b.inputTokens
            && a.outputTokens == b.outputTokens && a.cachedInputTokens == b.cachedInputTokens
            && a.cacheCreationInputTokens == b.cacheCreationInputTokens && a.reasoningOutputTokens == b.reasoningOutputTokens
            && a.model == b.model && a.modelVersion == b.modelVersion
            && a.promptVersion == b.promptVersion && a.route == b.route
            && a.errorClass == b.errorClass && a.categoryID == b.categoryID
            && a.status == b.status && a.ring == b.ring && a.outcome == b.outcome
            && a.safetySeverity == b.safetySeverity && a.safetyKinds == b.safetyKinds
    }
}
