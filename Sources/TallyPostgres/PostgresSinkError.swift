/// Why the PostgreSQL sink could not start or could not store a snapshot. Messages
/// name the problem and what to do; they never contain the password.
public enum PostgresSinkError: Error, CustomStringConvertible, Equatable {
    /// A setting is wrong (`postgres_url`, `postgres_schema`, the password file).
    case configuration(String)
    /// The server could not be reached (refused, timed out, gone): worth retrying.
    case unreachable(String)
    /// The server answered but refused us: wrong password, unknown role or database.
    case authentication(String)
    /// The `hll` or `tdigest` extension is not installed or may not be created.
    case missingExtension(String)
    /// The schema was written by a newer Tally (its version is above every migration known here).
    case newerSchema(found: Int, known: Int)
    /// A snapshot's or the configuration's sketch parameters differ from the schema's.
    case parameterMismatch(String)
    /// Any other server error.
    case server(String)

    public var description: String {
        switch self {
        case .configuration(let m): "PostgreSQL configuration: \(m)"
        case .unreachable(let m): "PostgreSQL unreachable: \(m)"
        case .authentication(let m): "PostgreSQL refused the login: \(m)"
        case .missingExtension(let m): "PostgreSQL extension missing: \(m)"
        case .newerSchema(let found, let known):
            "PostgreSQL schema version \(found) was written by a newer Tally (this tallyd knows versions up to \(known)); upgrade tallyd or point it at another schema"
        case .parameterMismatch(let m): "sketch parameters do not match the PostgreSQL schema: \(m)"
        case .server(let m): "PostgreSQL error: \(m)"
        }
    }

    /// Whether a later attempt may succeed without anyone changing anything.
    public var isTransient: Bool {
        if case .unreachable = self { return true }
        return false
    }
}
