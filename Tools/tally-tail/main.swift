import ArgumentParser
import Foundation
import TallyCore
import TallyDaemon
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

    func run() throws {
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
