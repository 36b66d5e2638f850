import TallyCore

/// Windows older than the web face holds in memory, read from tallyd's data directory.
/// tallyd attaches a reader (``WebFace/attach(storedWindows:)``) when its file sink is on;
/// without one, `/api/v1/snapshots` serves the newest window only.
public struct StoredWindows: Sendable {
    /// The newest snapshots overlapping the asked range, oldest first.
    public var snapshots: [Snapshot]
    /// The range of every stored window, µs since the epoch (nil when none is stored).
    public var heldFromMicros: UInt64?
    public var heldToMicros: UInt64?
    /// Stored windows in all.
    public var held: Int

    public init(snapshots: [Snapshot], heldFromMicros: UInt64?, heldToMicros: UInt64?, held: Int) {
        self.snapshots = snapshots
        self.heldFromMicros = heldFromMicros
        self.heldToMicros = heldToMicros
        self.held = held
    }

    /// Reads the stored snapshots overlapping [from, to) µs, the newest `limit`.
    public typealias Reader = @Sendable (_ from: UInt64, _ to: UInt64, _ limit: Int) -> StoredWindows
}
