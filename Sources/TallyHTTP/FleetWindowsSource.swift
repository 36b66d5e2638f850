import TallyCore

/// Every collector's stored windows, read from the store where the collectors meet
/// (PostgreSQL: tallyd attaches its reader when `http_fleet_index` is on). The web face
/// merges them per window and evaluates the index over them for
/// `/api/v1/fleet/index/windows`.
public struct FleetWindowsSource: Sendable {
    /// What one read returned: the snapshots of the windows starting in the range (any
    /// order, several per window start), and one line per stored row that was skipped.
    public struct Read: Sendable {
        public var snapshots: [Snapshot]
        public var problems: [String]
        public init(snapshots: [Snapshot], problems: [String]) {
            self.snapshots = snapshots
            self.problems = problems
        }
    }

    /// Where the windows come from, for the reply (`postgresql`).
    public var name: String
    /// Reads the windows starting in [from, to) µs; blocking (the web face calls it off
    /// its event loops). Throws when the store cannot be read or the range is too wide;
    /// the error's description is the reply's message and must not hold secrets.
    public var read: @Sendable (_ from: UInt64, _ to: UInt64) throws -> Read

    public init(name: String, read: @escaping @Sendable (_ from: UInt64, _ to: UInt64) throws -> Read) {
        self.name = name
        self.read = read
    }
}
