import Foundation
import Logging
import Synchronization
import TallyCore
import TallyIndex

/// tallyd's index transform: every snapshot through an ``IndexEngine`` on the
/// flusher thread (never on the ingest path), the documents encoded once as JSON for
/// the sinks, the newest kept for readers (tally-tail, HTTP).
///
/// At start it replays the newest stored windows (`index_replay_windows`) through the
/// engine with their events discarded, so that a restart rebuilds the alert state:
/// an alert firing before the restart is firing after it, with the same fingerprint
/// and start, and nothing is paged twice.
public final class IndexStage: @unchecked Sendable {
    public let policy: Policy
    private let engine: IndexEngine
    private let logger: Logger
    private let state = Mutex<State>(State())

    struct State {
        var latest: [IndexDocument] = []
        var evaluated: UInt64 = 0
        var refused: UInt64 = 0
        var lastMicros: UInt64 = 0
    }

    /// Reads the policy file (over the default policy) and the pinned baseline, if configured.
    /// - Throws: ``ConfigError`` naming the file, line and key.
    public init(configuration: DaemonConfiguration, logger: Logger) throws(ConfigError) {
        var policy = Policy.standard
        if !configuration.policyFile.isEmpty {
            guard let text = try? String(contentsOfFile: configuration.policyFile, encoding: .utf8) else {
                throw ConfigError(field: "policy_file", "cannot read \(configuration.policyFile)")
            }
            do {
                policy = try Policy(file: text)
            } catch {
                throw ConfigError(field: "\(configuration.policyFile): \(error.field)", error.message)
            }
        }
        self.policy = policy
        self.logger = logger
        engine = IndexEngine(policy: policy, collectorID: configuration.collectorID)
        if policy.drift.baseline == .pinned && configuration.baselineSnapshot.isEmpty {
            throw ConfigError(field: "baseline_snapshot", "the policy's drift.baseline is pinned: name the baseline snapshot file")
        }
        if !configuration.baselineSnapshot.isEmpty {
            guard let bytes = FileManager.default.contents(atPath: configuration.baselineSnapshot) else {
                throw ConfigError(field: "baseline_snapshot", "cannot read \(configuration.baselineSnapshot)")
            }
            do {
                try engine.pinBaseline(try SnapshotCodec.decode(Array(bytes)))
            } catch {
                throw ConfigError(field: "baseline_snapshot", "\(configuration.baselineSnapshot): \(error)")
            }
        }
    }

    /// Replays the newest `limit` snapshots stored in `directory`, in the order they were
    /// flushed (the order the index saw them live); their events are not emitted. Reads one
    /// record at a time (``SnapshotLog/forEachNewest(_:directory:report:_:)``); a record that
    /// does not decode is skipped, a window not after the last one is refused as live.
    public func replay(directory: String, limit: Int) {
        var report = SnapshotLog.ReadReport()
        var replayed = 0
        SnapshotLog.forEachNewest(limit, directory: directory, report: &report) { record in
            guard let snapshot = try? SnapshotCodec.decode(record.payload) else { return }
            if evaluate(snapshot) != nil { replayed += 1 }
        }
        let open = engine.openAlerts
        if replayed > 0 {
            logger.info("index: rebuilt from \(replayed) stored windows; \(open.filter { $0.state == "firing" }.count) alerts firing, \(open.count) open")
        }
    }

    /// The documents of one window (window first, then each span), or nil when the
    /// engine refuses it (a window not after the last one, e.g. the same window
    /// flushed again after a restart; counted as `index.refused`).
    public func evaluate(_ snapshot: Snapshot) -> [IndexDocument]? {
        do {
            let documents = try engine.evaluate(snapshot)
            state.withLock {
                $0.latest = documents
                $0.evaluated += 1
            }
            return documents
        } catch {
            state.withLock { $0.refused += 1 }
            logger.warning("\(error)")
            return nil
        }
    }

    /// JSON of each document (sorted keys: stable output).
    public static func encode(_ documents: [IndexDocument]) -> [[UInt8]] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return documents.compactMap { document in
            do {
                return try Array(encoder.encode(document))
            } catch {
                // Cannot happen while every number is finite (the document types drop the rest);
                // said rather than lost silently.
                FileHandle.standardError.write(Data("tallyd: index document \(document.span) not encoded: \(error)\n".utf8))
                return nil
            }
        }
    }

    /// The newest window's documents (window, then spans); empty before the first window.
    public var latest: [IndexDocument] { state.withLock { $0.latest } }

    /// `index.windows` evaluated and `index.refused`.
    public var counters: [String: UInt64] {
        state.withLock { ["index.windows": $0.evaluated, "index.refused": $0.refused] }
    }
}
