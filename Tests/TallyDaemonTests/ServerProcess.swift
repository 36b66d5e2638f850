import Foundation
import TallyDaemon

/// A real server program started by a test (Alertmanager, Prometheus): on 127.0.0.1 at a
/// free port, its files in a temporary directory, its output in `server.log` there.
/// ``stop()`` ends it (SIGINT, then SIGKILL) and removes the directory.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let directory: String
    let port: Int
    var url: HTTPURL { HTTPURL(host: "127.0.0.1", port: port, path: "/") }

    /// Creates the directory, writes `files` (name → text) into it, then runs `binary` with
    /// `arguments(directory, port)`.
    init(binary: String, name: String, files: [String: String],
         arguments: (_ directory: String, _ port: Int) -> [String]) throws {
        directory = NSTemporaryDirectory() + "tally-\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        for (file, text) in files { try text.write(toFile: directory + "/" + file, atomically: true, encoding: .utf8) }
        port = try LoopbackListener.freePort()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments(directory, port)
        _ = FileManager.default.createFile(atPath: directory + "/server.log", contents: nil)
        let log = FileHandle(forWritingAtPath: directory + "/server.log")
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// Waits until `GET path` answers 200, at most `seconds`.
    func ready(_ path: String, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && process.isRunning {
            if (try? get(path).status) == 200 { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    func get(_ path: String) throws(SinkError) -> HTTPResponse {
        try HTTPPost.exchange(method: "GET", url: url.appending(path: path), timeoutSeconds: 3)
    }

    var log: String { (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? "" }

    func stop() {
        ServerProcess.stop(process, within: 5)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// SIGINT, then SIGKILL when it has not exited within `seconds`.
    static func stop(_ process: Process, within seconds: Double) {
        guard process.isRunning else { return }
        process.interrupt()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
