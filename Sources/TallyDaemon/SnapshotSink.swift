import Foundation
import Synchronization
import TallyCore
import TallyIndex
import ZeroMQ

/// A sink's failure to deliver one snapshot.
public struct SinkError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One snapshot, encoded once and shared by every sink.
public struct EncodedSnapshot: Sendable {
    public let sequence: UInt64
    public let snapshot: Snapshot
    public let bytes: [UInt8]
    /// The window's index documents as JSON (window first, then each rolling span;
    /// INDEX.md); empty when the index is off or refused the window.
    public var index: [[UInt8]] = []
    /// The same documents, decoded (for in-process readers such as the demo's summary).
    public var documents: [IndexDocument] = []

    /// Resident bytes this snapshot holds, as sink queues count them: the encoded bytes,
    /// the index documents' bytes, and the decoded ``Snapshot`` at
    /// ``MemoryShares/queuedBytesPerSeries`` a series (measured; Benchmarks/README.md).
    public var residentBytes: Int {
        bytes.count + index.reduce(0) { $0 + $1.count } + snapshot.series.count * MemoryShares.queuedBytesPerSeries
    }
}

/// Where snapshots go. `deliver` runs on the sink's own thread (``SinkWorker``):
/// it may block or fail without touching ingest or the other sinks.
public protocol SnapshotSink: AnyObject, Sendable {
    var name: String { get }
    /// Whether the sink sends the index documents: such a sink is handed the snapshot
    /// after the index has judged it; the others (the file sink) before, so the index
    /// never delays the source of truth.
    var wantsIndex: Bool { get }
    func deliver(_ snapshot: EncodedSnapshot) throws(SinkError)
    func close()
    /// The sink's own counters by name, reported as `sink.<name>.<counter>` (none by default).
    var counters: [String: UInt64] { get }
}

extension SnapshotSink {
    public var wantsIndex: Bool { false }
    public var counters: [String: UInt64] { [:] }
}

/// The file sink: binary snapshots appended to the data directory (``SnapshotLog``).
public final class FileSink: SnapshotSink, @unchecked Sendable {
    public let name = "file"
    private let writer: SnapshotLogWriter

    public init(directory: String, maxBytes: Int, maxSeconds: Int = 3_600, retention: Int,
                fsyncEachRecord: Bool) throws(SinkError) {
        writer = try SnapshotLogWriter(directory: directory, maxBytes: maxBytes, maxSeconds: maxSeconds,
                                       retention: retention, fsyncEachRecord: fsyncEachRecord)
    }

    public func deliver(_ snapshot: EncodedSnapshot) throws(SinkError) {
        if failuresToInject.load(ordering: .relaxed) > 0 {
            failuresToInject.subtract(1, ordering: .relaxed)
            throw SinkError("file sink: injected write failure (a test's full disk)")
        }
        try writer.append(sequence: snapshot.sequence, payload: snapshot.bytes)
        written.store(snapshot.sequence &+ 1, ordering: .releasing)
    }

    /// Failure tests: the next `count` deliveries fail as on a full disk, writing nothing.
    func injectFailures(_ count: Int) { failuresToInject.store(count, ordering: .relaxed) }
    private let failuresToInject = Atomic<Int>(0)

    public func close() { writer.close() }

    /// One past the newest sequence written (0: none yet), for the ingest journal.
    private let written = Atomic<UInt64>(0)
    /// The newest sequence written by this process, nil before the first.
    public var writtenSequence: UInt64? {
        let next = written.load(ordering: .acquiring)
        return next == 0 ? nil : next - 1
    }
}

/// The snapshot stream: ZeroMQ PUB, one two-part message per snapshot,
/// `["tally.snapshot" + 8-byte little-endian sequence, SnapshotCodec bytes]`, followed by
/// one per index document, `["tally.index" + the same sequence, the document's JSON]`
/// (subscribe to either prefix). STORAGE.md specifies the stream; the sequence was
/// big-endian before stream version 2 (the only integer of Tally's formats that was).
/// PUB drops for slow subscribers without telling anyone; subscribers see gaps in
/// the sequence and fill them from the replay endpoint.
public final class PubSink: SnapshotSink, @unchecked Sendable {
    public let name = "pub"
    public var wantsIndex: Bool { true }
    public static let topic = Array("tally.snapshot".utf8)
    public static let indexTopic = Array("tally.index".utf8)
    private let socket: ZMQSocket

    /// - Parameter curveSecretKey: with a key, a CURVE server: subscribers need the server's public key.
    public init(context: ZMQContext, endpoint: String, curveSecretKey: [UInt8]? = nil) throws(ZMQError) {
        socket = try ZMQSocket(context: context, type: .pub)
        try socket.setSendHighWaterMark(1_000)
        if let curveSecretKey {
            try socket.setCurveServer(secretKey: curveSecretKey)
            try socket.setZAPDomain(IngestGate.outputDomain)
        }
        try socket.bind(endpoint)
    }

    /// The first part of a stream message: the topic and the little-endian sequence.
    public static func header(sequence: UInt64, topic: [UInt8] = PubSink.topic) -> [UInt8] {
        topic + (0..<8).map { UInt8(truncatingIfNeeded: sequence >> (8 * UInt64($0))) }
    }

    /// The sequence in a stream message's first part (little-endian after the topic);
    /// nil when it is not one of `topic`'s headers (another length or prefix).
    public static func sequence(inHeader header: [UInt8], topic: [UInt8] = PubSink.topic) -> UInt64? {
        guard header.count == topic.count + 8, header.starts(with: topic) else { return nil }
        return header.suffix(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    public func deliver(_ snapshot: EncodedSnapshot) throws(SinkError) {
        let header = PubSink.header(sequence: snapshot.sequence)
        do {
            try socket.send(multipart: [header, snapshot.bytes], flags: .dontWait)
            let indexHeader = PubSink.header(sequence: snapshot.sequence, topic: PubSink.indexTopic)
            for document in snapshot.index { try socket.send(multipart: [indexHeader, document], flags: .dontWait) }
        } catch {
            throw SinkError("publish failed: \(error)")
        }
    }

    public func close() { socket.close() }
}

/// JSON lines to stdout or a file: the snapshot (``Snapshot/jsonLine()``), then one
/// `{"index": <document>}` line per index document of the window (INDEX.md).
public final class JSONLinesSink: SnapshotSink, @unchecked Sendable {
    public let name = "json"
    public var wantsIndex: Bool { true }
    private let handle: FileHandle
    private let ownsHandle: Bool

    /// - Parameter path: `-` for stdout, else a file appended to (created if missing).
    public init(path: String) throws(SinkError) {
        if path == "-" {
            handle = FileHandle.standardOutput
            ownsHandle = false
        } else {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw SinkError("cannot create \(path)")
                }
            }
            guard let file = FileHandle(forWritingAtPath: path) else { throw SinkError("cannot open \(path)") }
            file.seekToEndOfFile()
            handle = file
            ownsHandle = true
        }
    }

    public func deliver(_ snapshot: EncodedSnapshot) throws(SinkError) {
        do {
            var bytes = Array((snapshot.snapshot.jsonLine() + "\n").utf8)
            for document in snapshot.index {
                bytes += Array(#"{"index":"#.utf8) + document + Array("}\n".utf8)
            }
            try handle.write(contentsOf: bytes)
        } catch {
            throw SinkError("write failed: \(error)")
        }
    }

    public func close() { if ownsHandle { try? handle.close() } }
}
