import CZeroMQ

/// One event from a socket monitor (``ZMQSocket/monitor(endpoint:events:)``): libzmq
/// sends two parts, 6 bytes (event number u16, value u32, native byte order) and the
/// endpoint's text.
public struct ZMQMonitorEvent: Sendable, Equatable {
    /// A `ZMQ_EVENT_*` value.
    public var event: Int32
    /// The event's value: a file descriptor (accepted, disconnected), an errno, or a
    /// `ZMQ_PROTOCOL_ERROR_*` code (handshake failed: protocol).
    public var value: Int32
    public var endpoint: String

    public static let accepted = ZMQ_EVENT_ACCEPTED
    public static let disconnected = ZMQ_EVENT_DISCONNECTED
    public static let handshakeSucceeded = ZMQ_EVENT_HANDSHAKE_SUCCEEDED
    public static let handshakeFailedNoDetail = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
    public static let handshakeFailedProtocol = ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
    public static let handshakeFailedAuth = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
    public static let monitorStopped = ZMQ_EVENT_MONITOR_STOPPED
    /// A handshake failed because the peers' security mechanisms differ (e.g. NULL against CURVE).
    public static let protocolErrorMechanismMismatch = Int32(bitPattern: UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH))
    /// A CURVE handshake failed to decrypt (e.g. a client holding a wrong server key).
    public static let protocolErrorCryptographic = Int32(bitPattern: UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC))

    public init(event: Int32, value: Int32, endpoint: String) {
        self.event = event
        self.value = value
        self.endpoint = endpoint
    }

    /// Parses a monitor message's parts; nil when they are not a v1 monitor event.
    public init?(parts: [[UInt8]]) {
        guard parts.count == 2, parts[0].count == 6 else { return nil }
        let head = parts[0]
        event = Int32(UInt16(head[0]) | UInt16(head[1]) << 8)
        value = Int32(bitPattern: UInt32(head[2]) | UInt32(head[3]) << 8 | UInt32(head[4]) << 16 | UInt32(head[5]) << 24)
        endpoint = String(decoding: parts[1], as: UTF8.self)
    }
}
