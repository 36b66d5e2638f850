import CZeroMQ

/// The socket patterns Tally uses.
public enum ZMQSocketType: Sendable {
    /// Producers: round-robins messages over connected PULL peers; blocks (or fails
    /// with `EAGAIN` under `DONTWAIT`) when every peer's queue is at its high-water mark.
    case push
    /// The collector's ingest side: fair-queues messages from all PUSH peers.
    case pull
    /// Snapshot stream: fans out to subscribers, dropping for slow ones unless `XPUB_NODROP`.
    case pub
    case sub
    /// A PUB that also sees subscriptions; needed for ``ZMQSocket/setNoDrop(_:)``.
    case xpub
    case xsub
    /// Request/reply pair, used by the replay endpoint.
    case req
    case rep
    case dealer
    case router
    case pair

    @usableFromInline var rawValue: Int32 {
        switch self {
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .xpub: ZMQ_XPUB
        case .xsub: ZMQ_XSUB
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .pair: ZMQ_PAIR
        }
    }
}

/// Flags for send and receive.
public struct ZMQFlags: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// Fail with `EAGAIN` instead of blocking.
    public static let dontWait = ZMQFlags(rawValue: ZMQ_DONTWAIT)
    /// More parts of the same multipart message follow.
    public static let sendMore = ZMQFlags(rawValue: ZMQ_SNDMORE)
}
