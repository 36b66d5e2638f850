/// How an inference request ended (frame byte 60).
public enum RequestStatus: UInt8, CaseIterable, Sendable {
    case ok = 0
    case error = 1
    case timeout = 2
    case rateLimited = 3
    case cancelled = 4
    case other = 5

    /// `nil` for an undefined byte. Written out rather than synthesized so that it
    /// inlines into the decoders of other modules (a call per frame otherwise).
    @inlinable @inline(__always) public init?(rawValue: UInt8) {
        switch rawValue {
        case 0: self = .ok
        case 1: self = .error
        case 2: self = .timeout
        case 3: self = .rateLimited
        case 4: self = .cancelled
        case 5: self = .other
        default: return nil
        }
    }

    /// Stable lower-case name, used in snapshots and JSON.
    public var name: String {
        switch self {
        case .ok: "ok"
        case .error: "error"
        case .timeout: "timeout"
        case .rateLimited: "rate_limited"
        case .cancelled: "cancelled"
        case .other: "other"
        }
    }
}

/// Which deployment ring served the request (frame byte 61).
public enum DeploymentRing: UInt8, CaseIterable, Sendable {
    case stable = 0
    case canary = 1
    case shadow = 2

    /// `nil` for an undefined byte. Written out rather than synthesized so that it
    /// inlines into the decoders of other modules (a call per frame otherwise).
    @inlinable @inline(__always) public init?(rawValue: UInt8) {
        switch rawValue {
        case 0: self = .stable
        case 1: self = .canary
        case 2: self = .shadow
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .stable: "stable"
        case .canary: "canary"
        case .shadow: "shadow"
        }
    }
}

/// Whether the task the request served succeeded (frame byte 62, bits 3–4).
public enum TaskOutcome: UInt8, CaseIterable, Sendable {
    case unknown = 0
    case success = 1
    case failure = 2

    /// `nil` for an undefined byte. Written out rather than synthesized so that it
    /// inlines into the decoders of other modules (a call per frame otherwise).
    @inlinable @inline(__always) public init?(rawValue: UInt8) {
        switch rawValue {
        case 0: self = .unknown
        case 1: self = .success
        case 2: self = .failure
        default: return nil
        }
    }
}

/// Explicit user feedback on the response (frame byte 62, bits 5–6).
public enum Feedback: UInt8, CaseIterable, Sendable {
    case none = 0
    case up = 1
    case down = 2

    /// `nil` for an undefined byte. Written out rather than synthesized so that it
    /// inlines into the decoders of other modules (a call per frame otherwise).
    @inlinable @inline(__always) public init?(rawValue: UInt8) {
        switch rawValue {
        case 0: self = .none
        case 1: self = .up
        case 2: self = .down
        default: return nil
        }
    }
}

/// Severity of the worst safety incident on the request (frame byte 63).
public enum SafetySeverity: UInt8, CaseIterable, Comparable, Sendable {
    case none = 0
    case low = 1
    case medium = 2
    case high = 3
    case critical = 4

    /// `nil` for an undefined byte. Written out rather than synthesized so that it
    /// inlines into the decoders of other modules (a call per frame otherwise).
    @inlinable @inline(__always) public init?(rawValue: UInt8) {
        switch rawValue {
        case 0: self = .none
        case 1: self = .low
        case 2: self = .medium
        case 3: self = .high
        case 4: self = .critical
        default: return nil
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    public var name: String {
        switch self {
        case .none: "none"
        case .low: "low"
        case .medium: "medium"
        case .high: "high"
        case .critical: "critical"
        }
    }
}

/// Policy-violation kinds seen on the request (frame bytes 64–65, a bit set).
public struct SafetyKinds: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let hate = SafetyKinds(rawValue: 1 << 0)
    public static let harassment = SafetyKinds(rawValue: 1 << 1)
    public static let selfHarm = SafetyKinds(rawValue: 1 << 2)
    public static let sexual = SafetyKinds(rawValue: 1 << 3)
    public static let violence = SafetyKinds(rawValue: 1 << 4)
    public static let illicit = SafetyKinds(rawValue: 1 << 5)
    public static let privacy = SafetyKinds(rawValue: 1 << 6)
    public static let promptInjection = SafetyKinds(rawValue: 1 << 7)
    public static let ungrounded = SafetyKinds(rawValue: 1 << 8)
    public static let copyright = SafetyKinds(rawValue: 1 << 9)
    public static let other = SafetyKinds(rawValue: 1 << 15)

    /// Every bit v1 defines; the others must be zero.
    public static let defined = SafetyKinds(rawValue: 0b1000_0011_1111_1111)

    /// Stable names by bit position, for snapshots and JSON.
    public static let names: [(bit: Int, name: String)] = [
        (0, "hate"), (1, "harassment"), (2, "self_harm"), (3, "sexual"), (4, "violence"),
        (5, "illicit"), (6, "privacy"), (7, "prompt_injection"), (8, "ungrounded"),
        (9, "copyright"), (15, "other"),
    ]
}

/// The outcome byte of a frame (frame byte 62): three flags, the task outcome and
/// the feedback, packed as FORMAT.md describes. Bit 7 is reserved and zero.
public struct OutcomeBits: Sendable, Hashable {
    public var rawValue: UInt8

    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public init(refusal: Bool = false, escalation: Bool = false, fallback: Bool = false,
                task: TaskOutcome = .unknown, feedback: Feedback = .none) {
        rawValue = (refusal ? 1 : 0) | (escalation ? 2 : 0) | (fallback ? 4 : 0)
            | task.rawValue << 3 | feedback.rawValue << 5
    }

    /// The model declined to answer.
    @inlinable public var refusal: Bool { rawValue & 1 != 0 }
    /// The request was handed off to a human or another system.
    @inlinable public var escalation: Bool { rawValue & 2 != 0 }
    /// A fallback model or path served the request.
    @inlinable public var fallback: Bool { rawValue & 4 != 0 }
    /// `nil` when the two bits hold the undefined value 3.
    @inlinable public var task: TaskOutcome? { TaskOutcome(rawValue: (rawValue >> 3) & 3) }
    /// `nil` when the two bits hold the undefined value 3.
    @inlinable public var feedback: Feedback? { Feedback(rawValue: (rawValue >> 5) & 3) }

    /// Whether the byte holds only defined values.
    /// (Bit tests: 3 is the only undefined value of either two-bit field, so this equals
    /// `rawValue & 0x80 == 0 && task != nil && feedback != nil`, without the calls.)
    @inlinable @inline(__always)
    public var isValid: Bool { rawValue & 0x80 == 0 && rawValue & 0x18 != 0x18 && rawValue & 0x60 != 0x60 }
}
