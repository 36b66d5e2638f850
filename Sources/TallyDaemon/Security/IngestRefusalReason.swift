/// Why the ingest refused a connection; counted as `ingest.refused.<name>`.
public enum IngestRefusalReason: String, CaseIterable, Sendable {
    /// More open connections than the memory budget admits (``IngestBudget/maxConnections``).
    case connectionLimit = "connection_limit"
    /// A CURVE client whose public key is not in `curve_allowed_producers_dir`.
    case unknownKey = "unknown_key"
    /// A client without CURVE at a CURVE endpoint (ZMTP mechanism mismatch).
    case noKey = "no_key"
    /// A CURVE client that holds another server public key (its HELLO does not decrypt).
    case wrongServerKey = "wrong_server_key"
    /// Any other failed handshake: a malformed greeting, a handshake that did not finish
    /// within the handshake interval, a peer that stalled.
    case handshakeFailed = "handshake_failed"

    public var name: String { rawValue }
}
