import Foundation
import Testing
import TallyClient
import TallyCore
@testable import TallyDaemon
import TallySynthetic
import TallyWire
import ZeroMQ

/// CURVE on a collector run in-process over loopback ipc://: only producers whose
/// public key is in the allowlist get frames in; a producer with an unknown key, with
/// no key, or with a wrong server key is refused and counted by reason; PUB and replay
/// clients need the server's key.
@Suite(.serialized) struct CurveTests {
    final class Keys {
        let dir = NSTemporaryDirectory() + "tally-curve-\(UUID().uuidString)"
        let allowed: String
        init() throws {
            allowed = dir + "/allowed"
            try FileManager.default.createDirectory(atPath: allowed, withIntermediateDirectories: true)
        }
        /// A new pair under `dir/<name>`; returns (public, secret).
        func pair(_ name: String, allow: Bool = false) throws -> (publicKey: String, secretKey: String) {
            let publicKey = try CurveKeyFile.writeKeyPair(prefix: dir + "/" + name)
            let secretKey = try CurveKeyFile.read(dir + "/\(name).key", field: "test")
            if allow { try FileManager.default.copyItem(atPath: dir + "/\(name).pub", toPath: allowed + "/\(name).pub") }
            return (publicKey, secretKey)
        }
        deinit { try? FileManager.default.removeItem(atPath: dir) }
    }

    static func client(_ endpoint: String, producer: UInt64, server: String?,
                       pair: (publicKey: String, secretKey: String)?) throws -> TallyClient {
        var c = TallyClientConfiguration(endpoints: [endpoint])
        c.producerID = producer
        c.serverPublicKey = server
        c.curvePublicKey = pair?.publicKey
        c.curveSecretKey = pair?.secretKey
        c.sendWaitMillis = 200
        return try TallyClient(configuration: c)
    }

    static func send(_ client: TallyClient, frames: Int) -> UInt64 {
        var rng = SplitMix64(seed: 11)
        let fleet = SyntheticFleet(tenants: 2, users: 100)
        for _ in 0..<frames { client.record(fleet.frame(eventTimeMicros: EndToEndTests.nowMicros(), &rng)) }
        _ = client.close(timeoutMillis: 2_000)
        return client.counters.framesSent
    }

    @Test func curveGatesProducersAndSubscribersAndCountsRefusalsByReason() throws {
        try #require(ZMQCurve.isAvailable, "libzmq without CURVE")
        let keys = try Keys()
        let server = try keys.pair("server")
        let good = try keys.pair("good", allow: true)
        let stranger = try keys.pair("stranger")
        let otherServer = try keys.pair("other-server")
        let run = EndToEndTests.Run()
        var configuration = run.configuration()
        configuration.curveSecretKeyFile = keys.dir + "/server.key"
        configuration.curveAllowedProducersDir = keys.allowed
        let collector = try Collector(configuration: configuration)
        collector.start()
        defer { collector.stop(timeoutSeconds: 5) }

        // The allowed producer's frames arrive.
        let sent = Self.send(try Self.client(run.ingest, producer: 1, server: server.publicKey, pair: good), frames: 500)
        #expect(sent == 500)
        #expect(EndToEndTests.wait(seconds: 10) { collector.producers.snapshot[1]?.frames == 500 })

        // Refused: a key not on the list, no key at all, the wrong server key.
        _ = Self.send(try Self.client(run.ingest, producer: 2, server: server.publicKey, pair: stranger), frames: 100)
        _ = Self.send(try Self.client(run.ingest, producer: 3, server: nil, pair: nil), frames: 100)
        _ = Self.send(try Self.client(run.ingest, producer: 4, server: otherServer.publicKey, pair: good), frames: 100)
        #expect(EndToEndTests.wait(seconds: 10) {
            let c = collector.counters()
            // A keyless client's mechanism mismatch is no_key; on a loaded machine its handshake
            // can run out of time first and count as handshake_failed. Either way it got nothing in.
            return c["ingest.refused.unknown_key"]! >= 1
                && c["ingest.refused.no_key"]! + c["ingest.refused.handshake_failed"]! >= 1
                && c["ingest.refused.wrong_server_key"]! >= 1
        }, "\(collector.counters().filter { $0.key.hasPrefix("ingest.refused") })")
        for producer: UInt64 in [2, 3, 4] { #expect(collector.producers.snapshot[producer] == nil, "producer \(producer) got nothing in") }
        #expect(collector.counters()["ingest.frames"] == 500)

        // Replay: with the server key it answers; without, the request never gets through.
        let context = try ZMQContext()
        let withKeys = try ZMQSocket(context: context, type: .req)
        try withKeys.setCurveClient(serverKey: ZMQCurve.decode(server.publicKey)!, publicKey: ZMQCurve.decode(stranger.publicKey)!,
                                    secretKey: ZMQCurve.decode(stranger.secretKey)!)
        try withKeys.setReceiveTimeout(milliseconds: 5_000)
        try withKeys.connect(run.replay)
        try withKeys.send("0 10")
        #expect(String(decoding: try withKeys.receiveMultipart().first ?? [], as: UTF8.self).hasPrefix("ok "))
        let plain = try ZMQSocket(context: context, type: .req)
        try plain.setReceiveTimeout(milliseconds: 1_000)
        try plain.connect(run.replay)
        try plain.send("0 10")
        #expect(throws: ZMQError.self) { try plain.receiveMultipart() }

        // PUB: a subscriber with the server key receives the stream, one without does not.
        let subscriber = try ZMQSocket(context: context, type: .sub)
        try subscriber.setCurveClient(serverKey: ZMQCurve.decode(server.publicKey)!, publicKey: ZMQCurve.decode(stranger.publicKey)!,
                                      secretKey: ZMQCurve.decode(stranger.secretKey)!)
        try subscriber.subscribe()
        try subscriber.setReceiveTimeout(milliseconds: 4_000)
        try subscriber.connect(run.pub)
        let plainSubscriber = try ZMQSocket(context: context, type: .sub)
        try plainSubscriber.subscribe()
        try plainSubscriber.setReceiveTimeout(milliseconds: 100)
        try plainSubscriber.connect(run.pub)
        // Windows of 1 s: keep a little traffic flowing so that snapshots are published.
        let feeder = try Self.client(run.ingest, producer: 1, server: server.publicKey, pair: good)
        var rng = SplitMix64(seed: 3)
        let fleet = SyntheticFleet(tenants: 1, users: 10)
        var received: [[UInt8]] = []
        let deadline = Date().addingTimeInterval(8)
        while received.isEmpty && Date() < deadline {
            feeder.record(fleet.frame(eventTimeMicros: EndToEndTests.nowMicros(), &rng))
            received = (try? subscriber.receiveMultipart(flags: .dontWait)) ?? []
            Thread.sleep(forTimeInterval: 0.05)
        }
        _ = feeder.close(timeoutMillis: 500)
        #expect(PubSink.sequence(inHeader: received.first ?? []) != nil, "the keyed subscriber gets snapshots")
        #expect(throws: ZMQError.self) { try plainSubscriber.receiveMultipart() }
    }

    @Test func curveConfigurationErrorsNameTheKey() throws {
        let keys = try Keys()
        _ = try keys.pair("server")
        var c = DaemonConfiguration()
        c.curveSecretKeyFile = keys.dir + "/server.key"
        #expect(throws: ConfigError(field: "curve_allowed_producers_dir",
                                    "CURVE needs both curve_secret_key_file and curve_allowed_producers_dir")) { try c.validate() }
        c.curveAllowedProducersDir = keys.allowed  // empty directory
        #expect(#expect(throws: ConfigError.self) { try Collector(configuration: c) }?.field == "curve_allowed_producers_dir")
        try "not a key\n".write(toFile: keys.allowed + "/bad.pub", atomically: true, encoding: .utf8)
        #expect(#expect(throws: ConfigError.self) { try Collector(configuration: c) }?.message.contains("bad.pub") == true)
        #expect(CurveKeyFile.key(in: "# comment\n\n" + (try ZMQCurve.keyPair().publicKey) + "\n") != nil)
        #expect(CurveKeyFile.key(in: "abc") == nil)
    }

    @Test func loopbackEndpointsAreToldFromReachableOnes() {
        for local in ["ipc:///tmp/x", "inproc://a", "tcp://127.0.0.1:7411", "tcp://[::1]:7411", "tcp://localhost:1", ""] {
            #expect(Collector.isLoopback(local), "\(local)")
        }
        for reachable in ["tcp://0.0.0.0:7411", "tcp://10.1.2.3:7411", "tcp://*:7411", "tcp://[::]:7411", "tcp://eth0:7411"] {
            #expect(!Collector.isLoopback(reachable), "\(reachable)")
        }
    }
}
