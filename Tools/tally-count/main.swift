import ArgumentParser
import Foundation
import TallyDaemon
import TallyWire
import ZeroMQ

/// tally-count: the raw ZeroMQ baseline for the end-to-end benchmark. A PULL socket
/// that receives batches like tallyd does (same high-water mark, zero-copy receive)
/// but only counts them: messages, and frames per producer from each batch header.
/// It stops after `--idle` seconds without a message (once one has arrived) or after
/// `--duration`, and prints one JSON object.
@main
struct TallyCount: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally-count", abstract: "Count the frames arriving on a ZeroMQ PULL socket (benchmark baseline).")

    @Option(name: .long, help: "Endpoint to bind.")
    var endpoint = "tcp://127.0.0.1:7411"
    @Option(name: .long, help: "Stop after this many seconds without a message, once traffic began.")
    var idle: Double = 2
    @Option(name: .long, help: "Stop after this many seconds in all (0 = no limit).")
    var duration: Double = 0

    func run() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .pull)
        try socket.setReceiveHighWaterMark(Int32(DaemonConfiguration.defaultReceiveQueue))  // as tallyd's default
        try socket.setReceiveTimeout(milliseconds: 100)
        try socket.bind(endpoint)
        let message = ZMQMessage()
        var messages: UInt64 = 0, bytes: UInt64 = 0, frames: UInt64 = 0, unreadable: UInt64 = 0
        var perProducer: [UInt64: UInt64] = [:]
        let started = DispatchTime.now().uptimeNanoseconds
        var first: UInt64 = 0, last: UInt64 = 0
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            if duration > 0 && Double(now - started) / 1e9 >= duration { break }
            if messages > 0 && Double(now - last) / 1e9 >= idle { break }
            do {
                try socket.receive(into: message)
            } catch {
                if error.isWouldBlock || error.isInterrupted { continue }
                throw error
            }
            last = DispatchTime.now().uptimeNanoseconds
            if messages == 0 { first = last }
            messages &+= 1
            bytes &+= UInt64(message.count)
            if let header = message.withUnsafeBytes({ BatchHeaderPeek($0) }) {
                frames &+= UInt64(header.frameCount)
                perProducer[header.producerID, default: 0] &+= UInt64(header.frameCount)
            } else {
                unreadable &+= 1
            }
        }
        socket.close()
        let seconds = Double(last &- first) / 1e9
        let producers = perProducer.keys.sorted().map { "\"\(ProducerLedger.label($0))\":\(perProducer[$0]!)" }
        print("{\"messages\":\(messages),\"bytes\":\(bytes),\"frames\":\(frames),\"unreadable\":\(unreadable),"
              + "\"seconds\":\(seconds),\"rate\":\(seconds > 0 ? Double(frames) / seconds : 0),"
              + "\"producers\":{\(producers.joined(separator: ","))}}")
    }
}
