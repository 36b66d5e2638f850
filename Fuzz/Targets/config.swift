import TallyCore

/// Fuzz target `config`: tallyd's configuration file (the TOML subset of
/// `TallyConfig/ConfigFile.swift`, read by `DaemonConfiguration.load(file:)`) and its
/// `TALLY_<KEY>` environment variables. `DaemonConfiguration.swift` is compiled into
/// this target from its source (the rest of TallyDaemon needs ZeroMQ).
///
/// Every input is read as UTF-8 (invalid bytes replaced, as a file read would) and
/// parsed; it is also read as environment variables, one `KEY=value` a line. A
/// configuration that loads must validate again and give an engine configuration;
/// an error must name a field.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let entries = try? ConfigFile.parse(text) {
        for (key, entry) in entries {
            fuzzCheck(!key.isEmpty && entry.line >= 1, "entry '\(key)' at line \(entry.line)")
        }
    }
    var configuration = DaemonConfiguration()
    do {
        try configuration.load(file: text)
        check(configuration)
    } catch {
        fuzzCheck(!error.field.isEmpty && !error.message.isEmpty, "an error without field or message: \(error)")
    }

    var environment: [String: String] = [:]
    for line in text.split(separator: "\n") {
        guard let equals = line.firstIndex(of: "=") else { continue }
        environment[String(line[..<equals])] = String(line[line.index(after: equals)...])
    }
    var fromEnvironment = DaemonConfiguration()
    if (try? fromEnvironment.applyEnvironment(environment)) != nil { check(fromEnvironment) }
    return 0
}

/// A loaded configuration is valid and yields an engine configuration in range.
func check(_ configuration: DaemonConfiguration) {
    do { try configuration.validate() } catch { fuzzFailure("a loaded configuration does not validate: \(error)") }
    if let budget = try? configuration.ingestBudget {
        fuzzCheck(budget.receiveQueueBatches >= 1 && budget.worstCaseQueuedBytes <= budget.ingestBytes,
                  "ingest budget out of its bounds")
    } else {
        fuzzFailure("a validated configuration has no ingest budget")
    }
    let engine = configuration.engine
    fuzzCheck(engine.window.intervalMicros >= 1_000_000 && engine.maxSeriesPerShardWindow >= 1,
              "engine configuration out of range")
    if !configuration.httpListen.isEmpty {
        fuzzCheck(DaemonConfiguration.hostPort(configuration.httpListen) != nil, "http_listen passed but does not split")
    }
}

/// The default configuration, a customised one with prices and alert sinks, and
/// environment-variable lines.
func fuzzSeeds() -> [[UInt8]] {
    let custom = """
        collector_id = "edge-eu-1"
        endpoints = ["tcp://0.0.0.0:7411", "ipc:///tmp/tally.sock"]
        window_seconds = 5
        allowed_lateness_seconds = 0
        shards = 2
        fsync = "never"
        json_lines = "-"
        index = true
        alertmanager_url = "http://127.0.0.1:9093/prefix"
        alert_webhook_url = "http://[::1]:8080/hook"
        http_listen = "[::1]:7414"
        file_max_bytes = 1_048_576

        [prices."llama-3.1-70b-instruct"]
        input = 0.88
        cached_input = 0.44
        output = 0.88 # per million tokens

        [prices.mistral]
        input = 2
        cached_input = 1e-1
        output = 6
        """
    let environment = """
        TALLY_WINDOW_SECONDS=5
        TALLY_ENDPOINTS=tcp://0.0.0.0:7411,ipc:///tmp/tally
        TALLY_SUMMARY=true
        TALLY_HTTP_LISTEN=127.0.0.1:7414
        TALLY_ALERTMANAGER_URL=http://localhost:9093
        """
    return [DaemonConfiguration.defaultText, custom, environment].map { Array($0.utf8) }
}
