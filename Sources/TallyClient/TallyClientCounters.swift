/// Why a producer dropped frames instead of sending them.
public enum ClientDropReason: Int, CaseIterable, Sendable {
    /// The frame broke the wire format's rules (see ``TallyClient/lastInvalidFrameError``).
    case invalidFrame
    /// Every batch buffer was waiting for the sender: the collector or network was
    /// slower than the producer for longer than ``TallyClientConfiguration/queueDepth`` batches.
    case queueFull
    /// libzmq could not queue the batch: no collector connected, or its high-water mark reached.
    case collectorUnavailable
    /// libzmq reported another error on send.
    case sendFailed
    /// Still buffered, in the client or in libzmq's queue to a collector that was behind,
    /// when ``TallyClient/close(timeoutMillis:)`` ran out of time.
    case closeTimeout
    /// Recorded after ``TallyClient/close(timeoutMillis:)``.
    case closed

    public var name: String {
        switch self {
        case .invalidFrame: "invalid_frame"
        case .queueFull: "queue_full"
        case .collectorUnavailable: "collector_unavailable"
        case .sendFailed: "send_failed"
        case .closeTimeout: "close_timeout"
        case .closed: "closed"
        }
    }
}

/// A producer's own counters. Once the client is closed,
/// `framesRecorded == framesSent + framesDropped` holds exactly.
public struct TallyClientCounters: Sendable, Equatable {
    /// Calls to ``TallyClient/record(_:)``.
    public var framesRecorded: UInt64 = 0
    /// Frames in batches libzmq wrote to a collector's connection (queued in libzmq is
    /// not yet sent: it is ``framesBuffered`` until written, or a
    /// ``ClientDropReason/closeTimeout`` drop if the close runs out of time first).
    public var framesSent: UInt64 = 0
    public var batchesSent: UInt64 = 0
    /// Frames dropped, by ``ClientDropReason`` raw value.
    public var dropped: [UInt64] = Array(repeating: 0, count: ClientDropReason.allCases.count)

    public init() {}

    public func dropped(_ reason: ClientDropReason) -> UInt64 { dropped[reason.rawValue] }
    public var framesDropped: UInt64 { dropped.reduce(0, +) }
    /// Frames recorded but neither sent nor dropped yet (in the client's buffers or in libzmq's queue).
    public var framesBuffered: UInt64 { framesRecorded &- framesSent &- framesDropped }
}
