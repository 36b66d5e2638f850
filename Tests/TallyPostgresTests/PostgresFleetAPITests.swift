import Foundation
import Testing
import TallyClient
import TallyDaemon
import TallySynthetic
import TallyTestSupport
import TallyWire

/// The web face's fleet index (`/api/v1/fleet/index/windows`, `http_fleet_index`) with
/// real processes: two tallyd collectors write into one PostgreSQL, each fed its own
/// part of a fleet; collector A's web face answers for both from the database, and every
/// window's fleet scope equals the SQL sum of both collectors' rows of that window.
@Suite(.serialized, .timeLimit(.minutes(10)),
       .enabled(if: PostgresTestCluster.available, "PostgreSQL 15 with hll and tdigest cannot be installed here"))
struct PostgresFleetAPITests {
    static let password = "pw-\(UUID().uuidString.prefix(12))"

    @Test func theWebFaceServesTheIndexOfEveryCollectorsRows() throws {
        let cluster = try PostgresTestCluster(tallyPassword: Self.password)
        defer { cluster.destroy() }
        let port = HTTPGet.freePort()
        let a = try PostgresFailoverTests.Tallyd("fleet-a", cluster: cluster, password: Self.password, httpPort: port)
        let b = try PostgresFailoverTests.Tallyd("fleet-b", cluster: cluster, password: Self.password)
        try a.start()
        try b.start()
        defer {
            a.stop()
            b.stop()
        }
        let fleet = SyntheticFleet.fewLabelSets(tenants: 5, users: 500)
        var sent = 0
        // Both parts of the fleet at once, so that windows hold rows of both collectors.
        var clients: [(client: TallyClient, frames: Int, rng: SplitMix64)] = []
        for (collector, frames, seed) in [(a, 1_500, UInt64(7)), (b, 1_000, UInt64(8))] {
            let client = try TallyClient(configuration: TallyClientConfiguration(endpoints: [collector.endpoint]))
            var rng = SplitMix64(seed: seed)
            // Probes until the connection is up (they are stored too and counted like any frame).
            let upBy = Date().addingTimeInterval(30)
            while client.counters.framesSent == 0 && Date() < upBy {
                client.record(fleet.frame(eventTimeMicros: CollectorRun.nowMicros(), &rng))
                _ = client.flush(timeoutMillis: 100)
            }
            clients.append((client, frames, rng))
        }
        for i in 0..<1_500 {
            for c in clients.indices where i < clients[c].frames {
                clients[c].client.record(fleet.frame(eventTimeMicros: CollectorRun.nowMicros(), &clients[c].rng))
            }
            if i % 100 == 99 { Thread.sleep(forTimeInterval: 0.1) }
        }
        for (client, _, _) in clients {
            let counters = client.close(timeoutMillis: 10_000)
            #expect(counters.dropped.reduce(0, +) == 0)
            sent += Int(counters.framesSent)
        }
        // B stops (seals and stores everything); A keeps serving and seals by lateness.
        #expect(b.stop() == 0)
        func stored() throws -> Int {
            Int(try cluster.psql("SELECT coalesce(sum(requests), 0) FROM tally.series", database: "tally")) ?? -1
        }
        let deadline = Date().addingTimeInterval(90)
        while try stored() < sent && Date() < deadline { Thread.sleep(forTimeInterval: 0.5) }
        #expect(try stored() == sent, "every frame sent is in PostgreSQL")

        let reply = try HTTPGet.get(port: port, "/api/v1/fleet/index/windows?from=0&to=\(UInt64(4e15))&limit=10000", timeout: 60)
        #expect(reply.status == 200, "\(reply.body.prefix(300))")
        let body = try #require(reply.json)
        #expect(body["source"] as? String == "postgresql")
        #expect(body["collectors"] as? [String] == ["fleet-a", "fleet-b"])
        #expect(body["skipped"] as? Int == 0)
        let windows = try #require(body["windows"] as? [[String: Any]])
        // The SQL merge per window, both collectors' rows.
        var perWindow: [UInt64: Int] = [:]
        for line in try cluster.psql("""
            SELECT (extract(epoch FROM window_start) * 1000000)::bigint || ' ' || sum(requests) FROM tally.series GROUP BY window_start
            """, database: "tally").split(separator: "\n") {
            let parts = line.split(separator: " ")
            perWindow[UInt64(parts[0])!] = Int(parts[1])!
        }
        #expect(windows.count == perWindow.count)
        let shared = try cluster.psql("""
            SELECT count(*) FROM (SELECT window_start FROM tally.windows GROUP BY window_start HAVING count(DISTINCT collector_id) = 2) AS both_collectors
            """, database: "tally")
        #expect((Int(shared) ?? 0) >= 1, "some window holds rows of both collectors")
        var served = 0
        for window in windows {
            let start = try #require((window["start_us"] as? NSNumber)?.uint64Value)
            let scopes = try #require(window["scopes"] as? [[String: Any]])
            let fleetScope = try #require(scopes.first { $0["kind"] as? String == "fleet" })
            let requests = (fleetScope["requests"] as? NSNumber)?.intValue ?? -1
            #expect(requests == perWindow[start], "window \(start): the fleet scope is both collectors' rows")
            served += requests
        }
        #expect(served == sent)
        print("fleet index over PostgreSQL: \(windows.count) windows, \(served) requests of \(sent) sent to two collectors")

        // Bad requests are named; a range with nothing stored is a 404 with the held range.
        #expect(try HTTPGet.get(port: port, "/api/v1/fleet/index/windows?from=9&to=3").json?["parameter"] as? String == "to")
        #expect(try HTTPGet.get(port: port, "/api/v1/fleet/index/windows?limit=0").json?["parameter"] as? String == "limit")
        #expect(try HTTPGet.get(port: port, "/api/v1/fleet/index/windows?from=1&to=2").status == 404)
        // PostgreSQL gone: a 502 naming it, and the web face keeps serving.
        try cluster.stop()
        let down = try HTTPGet.get(port: port, "/api/v1/fleet/index/windows?from=0&to=\(UInt64(4e15))", timeout: 60)
        #expect(down.status == 502 && (down.json?["error"] as? String ?? "").hasPrefix("postgresql: "), "\(down.body.prefix(300))")
        #expect(try HTTPGet.get(port: port, "/healthz").status == 200)
        try cluster.restart()
        #expect(a.stop() == 0)
    }
}
