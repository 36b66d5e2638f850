import ArgumentParser
import Foundation
import TallyCore
import TallyDaemon
import TallyIndex
import ZeroMQ

/// tally-tail: prints snapshots as a table of the top series or as JSON lines,
/// from a tallyd PUB stream (filling sequence gaps through the replay endpoint)
/// or from a data directory.
@main
struct TallyTail: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally-tail", abstract: "Print Tally snapshots from a PUB stream or a data directory.")

    @Option(name: .long, help: "tallyd's PUB endpoint.")
    var subscribe = "tcp://127.0.0.1:7412"
    @Option(name: .long, help: "tallyd's replay endpoint, to fill gaps (\"\" = do not fill).")
    var replay = "tcp://127.0.0.1:7413"
    @Option(name: .long, help: "Read this data directory instead of subscribing.")
    var dataDir: String?
    @Option(name: .long, help: "Stop after this many snapshots (0 = no limit).")
    var count = 0
    @Option(name: .long, help: "Series in the table.")
    var top = 12
    @Flag(name: .long, help: "JSON lines instead of tables.")
    var json = false
    @Flag(name: .long, help: "The index (lights, alerts, canary verdicts) of every window instead of snapshots: from the PUB stream's tally.index topic, or evaluated over --data-dir with the default policy (or --policy).")
    var index = false
    @Option(name: .long, help: "Policy file for --index over a data directory.")
    var policy: String?
    @Flag(name: .long, help: "Colour the lights even when stdout is not a terminal.")
    var colour = false

    func show(_ bytes: [UInt8]) -> Bool {
        do {
            let snapshot = try SnapshotCodec.decode(bytes)
            print(json ? snapshot.jsonLine() : SnapshotSummary.table(snapshot, limit: top))
            fflush(nil)
            return true
        } catch {
            FileHandle.standardError.write(Data("tally-tail: undecodable snapshot: \(error)\n".utf8))
            return false
        }
    }

    func showIndex(_ document: IndexDocument) {
        print(json ? (try? String(decoding: IndexStage.encode([document])[0], as: UTF8.self)) ?? ""
              : IndexSummary.text(document, colour: colour || isatty(1) != 0, limit: top))
        fflush(nil)
    }

    /// `--index`: window documents from the stream, or the index evaluated over a data directory.
    func runIndex() throws {
        if let dataDir {
            var rules = Policy.standard
            if let policy {
                guard let text = try? String(contentsOfFile: policy, encoding: .utf8) else { throw ValidationError("cannot read \(policy)") }
                do { rules = try Policy(file: text) } catch { throw ValidationError("\(policy): \(error)") }
            }
            let snapshots = SnapshotLog.read(directory: dataDir).records.compactMap { try? SnapshotCodec.decode($0.payload) }
                .sorted { $0.windowStartMicros < $1.windowStartMicros }
            let engine = IndexEngine(policy: rules, collectorID: snapshots.first?.collectorID ?? "tally-tail")
            var documents: [IndexDocument] = []
            for snapshot in snapshots {
                if let window = try? engine.evaluate(snapshot).first { documents.append(window) }
            }
            for document in count > 0 ? Array(documents.suffix(count)) : documents { showIndex(document) }
            return
        }
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .sub)
        try socket.subscribe(PubSink.indexTopic)
        try socket.connect(subscribe)
        let decoder = JSONDecoder()
        var shown = 0
        while count == 0 || shown < count {
            let parts = try socket.receiveMultipart()
            guard parts.count == 2, PubSink.sequence(inHeader: parts[0], topic: PubSink.indexTopic) != nil,
                  let document = try? decoder.decode(IndexDocument.self, from: Data(parts[1])), document.span == "window"
            else { continue }
            showIndex(document)
            shown += 1
        }
    }

    func run() throws {
        if index { return try runIndex() }
        if let dataDir {
            let (records, report) = SnapshotLog.read(directory: dataDir)
            for record in count > 0 ? Array(records.suffix(count)) : records { _ = show(record.payload) }
            if report.torn > 0 { FileHandle.standardError.write(Data("tally-tail: skipped \(report.torn) torn record(s)\n".utf8)) }
            return
        }
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .sub)
        try socket.subscribe(PubSink.topic)
        try socket.connect(subscribe)
        var shown = 0
        var expected: UInt64? = nil
        while count == 0 || shown < count {
            let parts = try socket.receiveMultipart()
            guard parts.count == 2, let sequence = PubSink.sequence(inHeader: parts[0]) else { continue }
            if let expected, sequence > expected, !replay.isEmpty {
                // A gap: the PUB stream dropped snapshots; fetch them from the replay endpoint.
                FileHandle.standardError.write(Data("tally-tail: gap \(expected)…\(sequence - 1), replaying\n".utf8))
                let request = try ZMQSocket(context: context, type: .req)
                try request.setReceiveTimeout(milliseconds: 5_000)
                try request.connect(replay)
                try request.send("\(expected) \(sequence - 1)")
                let reply = try request.receiveMultipart()
                for payload in reply.dropFirst() where (count == 0 || shown < count) { if show(payload) { shown += 1 } }
                request.close()
            }
            expected = sequence + 1
            if count == 0 || shown < count { if show(parts[1]) { shown += 1 } }
        }
    }
}
