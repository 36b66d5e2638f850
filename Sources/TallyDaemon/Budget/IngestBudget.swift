import TallyConfig
import TallyWire

/// What the ingest may hold in memory, derived from one budget (`memory_budget_mib`).
///
/// ZeroMQ bounds its receive queues in messages (`ZMQ_RCVHWM`, per connection), not in
/// bytes, so the byte bound comes from the largest message it lets in
/// (`ZMQ_MAXMSGSIZE` = ``TallyWire/WireLimits/maxBatchBytes``, 1 MiB) and from a cap on
/// open connections (enforced by the ``IngestGate``):
///
///     ingest bytes     = budget / 2                      (the rest: windows, symbols, sinks)
///     per connection   = ingest bytes / max_connections
///     receive queue    = min(receive_queue, per connection / 1 MiB − 1)   batches, ≥ 1
///     worst case       = max_connections × (receive queue + 1) × 1 MiB ≤ ingest bytes
///
/// (+1: the message a connection is still receiving). The defaults, 1,024 MiB and 128
/// connections, give 3 batches per connection and at most 512 MiB queued; at the
/// measured drain rate of one ingest thread (Benchmarks/README.md) that queue empties
/// well within the default allowed lateness, so a flood cannot make the frames it
/// delays late in bulk.
public struct IngestBudget: Sendable, Equatable {
    /// Bytes of the largest batch ZeroMQ lets in; a bigger message closes its connection.
    public static let maxMessageBytes = WireLimits.maxBatchBytes
    /// The ingest's share of the budget, in bytes.
    public let ingestBytes: Int
    /// Open ingest connections admitted over all endpoints; more are refused by the gate.
    public let maxConnections: Int
    /// `ZMQ_RCVHWM` of every ingest socket, in batches per connection.
    public let receiveQueueBatches: Int

    /// Derives the bounds; throws (naming the key) when the budget cannot give every
    /// admitted connection room for at least one queued and one arriving batch.
    public init(budgetMiB: Int, maxConnections: Int, receiveQueueCap: Int) throws(ConfigError) {
        ingestBytes = budgetMiB << 19  // half of budgetMiB × 2^20
        self.maxConnections = maxConnections
        let batches = ingestBytes / maxConnections / IngestBudget.maxMessageBytes - 1
        guard batches >= 1 else {
            throw ConfigError(field: "memory_budget_mib",
                              "\(budgetMiB) MiB is too small for max_connections = \(maxConnections): needs at least \(maxConnections * 4) MiB (2 MiB of receive queue per connection in half the budget)")
        }
        receiveQueueBatches = min(receiveQueueCap, batches)
    }

    /// The most bytes the receive queues can hold at once.
    public var worstCaseQueuedBytes: Int { maxConnections * (receiveQueueBatches + 1) * IngestBudget.maxMessageBytes }
}
