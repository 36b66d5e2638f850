import TallyCore

/// Everything tallyd can be told, with the embedded defaults: a collector that
/// needs no outside server (PULL on loopback, snapshots to files under
/// `./tally-data`, a PUB stream and a replay endpoint on loopback).
///
/// Sources of settings, later ones winning: the defaults, the file (``load(file:)``),
/// environment variables `TALLY_<KEY>` (``applyEnvironment(_:)``), command-line flags.
public struct DaemonConfiguration: Sendable, Equatable {
    /// Names this collector in snapshots (merging refuses overlapping sequences of one id).
    public var collectorID = "tally-local"
    /// ZeroMQ endpoints the PULL sockets bind (tcp:// or ipc://); one ingest thread each.
    public var endpoints = ["tcp://127.0.0.1:7411"]
    /// The most batches ZeroMQ holds for each connected producer (`ZMQ_RCVHWM`, per
    /// connection), 1 … 1,000,000: a cap on what ``memoryBudgetMiB`` derives
    /// (``IngestBudget``), which is what applies when it is smaller. While it is full the
    /// producer's client drops (or, if told to, waits).
    public var receiveQueue = DaemonConfiguration.defaultReceiveQueue
    public static let defaultReceiveQueue = 10_000

    // MARK: Hardening (memory budget, connection cap, shutdown drain, CURVE)

    /// Memory budget of tallyd in MiB, 64 … 1,048,576: half of it bounds the ingest's
    /// receive queues (``IngestBudget``: queue length and connection cap follow from it), a
    /// quarter the engine's window tables (``EngineMemory``, worst case per series), and the
    /// rest the flush, the symbol table and the sinks' queues (``MemoryShares``).
    public var memoryBudgetMiB = 1_024
    /// Open ingest connections (all endpoints) admitted, 1 … 100,000; more are refused
    /// (`ingest.refused.connection_limit`). With the budget it sets the receive queue.
    public var maxConnections = 128
    /// At shutdown, seconds (0 … 60) during which batches ZeroMQ already holds are still
    /// aggregated; what remains after is counted as `ingest.dropped.shutdown_frames`.
    public var shutdownDrainSeconds = 2
    /// Frames stamped more than this many seconds (0 … 3,600) ahead of tallyd's clock
    /// are dropped as `future`; it bounds how many windows ahead of time can open.
    public var futureToleranceSeconds = 10
    /// CURVE server secret key file (`tallyd keygen`); "" = plain ZMTP. With it, the
    /// ingest, PUB and replay sockets are CURVE servers.
    public var curveSecretKeyFile = ""
    /// Directory of allowed producers' public keys (`*.pub`); required with CURVE.
    public var curveAllowedProducersDir = ""
    /// Window length in seconds, 1 … 3,600.
    public var windowSeconds = 10
    /// Seconds after a window's end during which its frames are still accepted, 0 … 600.
    public var allowedLatenessSeconds = 2
    /// Shard threads; 0 = one per core.
    public var shards = 0
    /// Series per shard and window before new keys fold into the overflow series.
    public var maxSeriesPerShard = 50_000
    /// Where the file sink writes snapshots (created if missing).
    public var dataDirectory = "tally-data"
    /// A snapshot file is closed and a new one started past this size.
    public var fileMaxBytes = 64 << 20
    /// A snapshot file is closed and a new one started once it is this old (s).
    public var fileMaxSeconds = 3_600
    /// Snapshot files kept; the oldest are deleted beyond it.
    public var fileRetention = 200
    /// `always` (fsync after every snapshot), `never` (leave it to the OS).
    public var fsync = "always"
    /// The ingest journal (STORAGE.md): every accepted batch appended to
    /// `<data_directory>/journal/` before it is aggregated, so that a collector killed
    /// outright stores its unsealed windows when it restarts.
    public var journal = true
    /// Where the journal's segments go; empty: `<data_directory>/journal`. A tmpfs
    /// (e.g. `/dev/shm/tally-journal`) keeps the same guarantee (the journal is not fsynced:
    /// it survives the process, not the host) without the kernel writing pages back.
    public var journalDirectory = ""
    /// The journal's directory as used.
    public var journalPath: String { journalDirectory.isEmpty ? dataDirectory + "/journal" : journalDirectory }
    /// PUB endpoint for the snapshot stream; empty disables it.
    public var pubEndpoint = "tcp://127.0.0.1:7412"
    /// REP endpoint serving stored snapshots by sequence range; empty disables it.
    public var replayEndpoint = "tcp://127.0.0.1:7413"
    /// JSON lines of every snapshot: empty (off), `-` (stdout) or a file path.
    public var jsonLines = ""
    /// Snapshots each sink may queue before it drops (counted).
    public var sinkQueue = 64
    /// Prints a per-window summary table on stdout (for the demo); the one-line log is always written.
    public var summary = false
    /// The index policy file (TOML, over the default policy); empty: the default policy.
    public var policyFile = ""
    /// Whether tallyd evaluates the index at every window (lights, alerts, drift, fairness, canary).
    public var index = true
    /// Stored windows replayed through the index at start, to rebuild alert state, 0 … 100,000.
    public var indexReplayWindows = 360
    /// A snapshot file (SnapshotCodec bytes) pinned as the drift baseline; empty: none.
    public var baselineSnapshot = ""
    /// An Alertmanager (`http://host[:port][/prefix]`) that each window's firing and
    /// resolved alerts are posted to (`/api/v2/alerts`, ``AlertmanagerSink``); empty: off.
    public var alertmanagerURL = ""
    /// A URL (`http://host[:port][/path]`) each window's firing and resolved alerts are
    /// posted to, as the same JSON array; empty: off.
    public var alertWebhookURL = ""
    /// The web face (tallyd's TallyHTTP server): `host:port` to listen on; empty disables it.
    public var httpListen = "127.0.0.1:7414"
    /// A bearer token every HTTP request but `/healthz` must carry; empty: none required.
    public var httpToken = ""
    /// Windows whose index documents the web face holds in memory, 1 … 100,000.
    public var httpWindows = 360
    /// Label sets per metric family on `/metrics` before the rest fold into `other`, 1 … 1,000,000.
    public var httpMaxLabelSets = 500
    /// The series labels `/metrics` exposes: model, model_version, prompt_version, route,
    /// ring, tag:KEY (checked by the web face when tallyd starts).
    public var httpMetricLabels = ["model", "model_version", "ring"]
    /// Serve vLLM's request families at `/metrics/vllm`.
    public var httpVLLMMetrics = false
    /// The largest bound of vLLM's token histograms (its `max_model_len`), 1 … 10,000,000.
    public var httpVLLMMaxModelLength = 131_072
    /// Serve `/api/v1/fleet/index/windows`: the index over every collector's rows in
    /// PostgreSQL (needs `postgres_url` and `index`).
    public var httpFleetIndex = false
    // OTLP/HTTP ingest of GenAI spans (TallyOTLP/OTLP.md).
    /// `host:port` of the OTLP/HTTP listener (`POST /v1/traces`); empty: off. OTLP's port: `127.0.0.1:4318`.
    public var otlpListen = ""
    /// Largest OTLP request body, before and after gzip, in bytes (1 KiB … 64 MiB).
    public var otlpMaxBodyBytes = 4 << 20
    /// Span/resource attribute giving the model version; empty: none.
    public var otlpVersionAttribute = "service.version"
    /// Attribute giving the ring (stable, canary, shadow); empty: always stable.
    public var otlpRingAttribute = "tally.ring"
    /// Attribute giving the route; empty: none.
    public var otlpRouteAttribute = "gen_ai.operation.name"
    /// Attribute giving the user id (hashed); empty: none.
    public var otlpUserAttribute = "user.id"
    /// Cohort tags as `key=attribute` (at most 8).
    public var otlpTagAttributes = ["provider=gen_ai.provider.name"]
    /// Prepended to user and conversation ids before hashing (prefer TALLY_OTLP_ID_SECRET).
    public var otlpIDSecret = ""

    /// PostgreSQL sink (TallyPostgres, SCHEMA.md): `postgres://user@host[:port]/database`; empty: off.
    /// A password belongs in ``postgresPasswordFile`` (or `TALLY_POSTGRES_PASSWORD`), not here.
    public var postgresURL = ""
    /// The schema holding Tally's tables (created by tallyd), a plain identifier.
    public var postgresSchema = "tally"
    /// A file whose first line is the PostgreSQL password; empty: none (or from the URL).
    public var postgresPasswordFile = ""
    /// Days of series rows kept in PostgreSQL (older day partitions are dropped); 0 keeps all.
    public var postgresRetentionDays = 30
    /// Price per million tokens by model (US dollars): input, cached input, output, and
    /// optionally cache writes (default: input) and reasoning (default: output).
    public var prices: [String: ModelPrice] = [:]
    /// HyperLogLog precision p of the snapshots' distinct users and sessions, 10 … 16
    /// (default 14: exact to 1,024, RMSE ≤ 0.8 %). A PostgreSQL schema holds one p.
    public var hllPrecision = SketchParameters().hllPrecision
    /// Tag keys kept in the series key (nil, with no breakdown keys: every tag; ``TagPolicy``).
    public var seriesTags: [String]? = nil
    /// Tag keys that make cohort aggregates per deployment slice (``TagPolicy``).
    public var breakdownKeys: [String] = []
    /// The value distributions cohort aggregates keep as full t-digests (`cohort_distributions`,
    /// names of ``SummarizedDigests/names``); the others are summaries: exact count, min,
    /// max and sum, no quantiles (SNAPSHOT.md, `cohort_summaries`).
    public var cohortDistributions = DaemonConfiguration.defaultCohortDistributions
    /// Latency and TTFT (issue 16: what fairness and cohort slicing read) and cost (its
    /// spread: fairness's Welch test of mean cost per request).
    public static let defaultCohortDistributions = ["latency", "ttft", "cost"]
    /// Whether cohort aggregates count input categories (`cohort_categories`; default false:
    /// only drift over cohort scopes reads them, and it is off by default).
    public var cohortCategories = false
    /// k of the per-slice heavy-hitter summaries (heaviest users by requests and by cost,
    /// SNAPSHOT.md "Heavy hitters"), 8 … 256; 0 (the default): none kept.
    public var heavyHitters = 0
    /// The tag key whose values (tenants) the heavy-hitter summaries also rank by requests
    /// and by cost (`heavy_hitter_tag`; needs `heavy_hitters`); "" (the default): users only.
    public var heavyHitterTag = ""

    public init() {}

    /// Applies a configuration file's text over these settings.
    /// - Throws: ``ConfigError`` naming the field (unknown keys and wrong types included).
    public mutating func load(file text: String) throws(ConfigError) {
        for (key, entry) in try ConfigFile.parse(text).sorted(by: { $0.value.line < $1.value.line }) {
            try set(key, entry.value)
        }
        // A price without cache_write bills cache writes as input; without reasoning, reasoning as output.
        prices = prices.mapValues { price in
            var price = price
            if price.cacheWrite.isNaN { price.cacheWrite = price.input }
            if price.reasoning.isNaN { price.reasoning = price.output }
            return price
        }
        try validate()
    }

    /// Applies `TALLY_<KEY>` variables (e.g. `TALLY_WINDOW_SECONDS=5`,
    /// `TALLY_ENDPOINTS=tcp://0.0.0.0:7411,ipc:///tmp/tally`).
    public mutating func applyEnvironment(_ environment: [String: String]) throws(ConfigError) {
        for key in DaemonConfiguration.keys {
            let name = "TALLY_" + key.uppercased()
            guard let text = environment[name] else { continue }
            try set(key, text: text, field: name)
        }
        try validate()
    }

    /// Sets one top-level key from a flag's or a variable's text.
    public mutating func set(_ key: String, text: String, field: String) throws(ConfigError) {
        let value: ConfigValue
        switch key {
        case "endpoints", "http_metric_labels", "otlp_tag_attributes", "series_tags", "breakdown_keys", "cohort_distributions": value = .strings(text.split(separator: ",").map { String($0).trimmingSpaces() })
        case "receive_queue", "memory_budget_mib", "max_connections", "shutdown_drain_seconds", "future_tolerance_seconds",
             "index_replay_windows", "window_seconds", "allowed_lateness_seconds", "shards", "max_series_per_shard", "file_max_bytes", "file_max_seconds",
             "file_retention", "sink_queue", "http_windows", "http_max_label_sets", "http_vllm_max_model_len", "otlp_max_body_bytes",
             "postgres_retention_days", "hll_precision", "heavy_hitters":
            guard let number = Int(text.replacingUnderscores()) else { throw ConfigError(field: field, "not an integer: \(text)") }
            value = .integer(number)
        case "summary", "index", "http_vllm_metrics", "http_fleet_index", "journal", "cohort_categories":
            guard text == "true" || text == "false" else { throw ConfigError(field: field, "true or false, not \(text)") }
            value = .boolean(text == "true")
        default: value = .string(text)
        }
        do { try set(key, value) } catch { throw ConfigError(field: field, error.message) }
    }

    /// Top-level keys (snake case, as in the file).
    public static let keys = ["collector_id", "endpoints", "receive_queue",
                              "memory_budget_mib", "max_connections", "shutdown_drain_seconds", "future_tolerance_seconds",
                              "curve_secret_key_file", "curve_allowed_producers_dir",
                              "window_seconds", "allowed_lateness_seconds", "shards",
                              "max_series_per_shard", "data_directory", "file_max_bytes", "file_max_seconds", "file_retention", "fsync", "journal", "journal_directory",
                              "pub_endpoint", "replay_endpoint", "json_lines", "sink_queue", "summary",
                              "policy_file", "index", "index_replay_windows", "baseline_snapshot",
                              "alertmanager_url", "alert_webhook_url",
                              "http_listen", "http_token", "http_windows", "http_max_label_sets", "http_metric_labels",
                              "http_vllm_metrics", "http_vllm_max_model_len", "http_fleet_index",
                              "otlp_listen", "otlp_max_body_bytes", "otlp_version_attribute", "otlp_ring_attribute",
                              "otlp_route_attribute", "otlp_user_attribute", "otlp_tag_attributes", "otlp_id_secret",
                              "postgres_url", "postgres_schema", "postgres_password_file", "postgres_retention_days",
                              "hll_precision", "series_tags", "breakdown_keys", "cohort_distributions", "cohort_categories",
                              "heavy_hitters", "heavy_hitter_tag"]

    mutating func set(_ key: String, _ value: ConfigValue) throws(ConfigError) {
        func string() throws(ConfigError) -> String {
            guard case .string(let s) = value else { throw ConfigError(field: key, "expected a quoted string") }
            return s
        }
        func integer() throws(ConfigError) -> Int {
            guard case .integer(let i) = value else { throw ConfigError(field: key, "expected an integer") }
            return i
        }
        func number() throws(ConfigError) -> Double {
            switch value {
            case .integer(let i): return Double(i)
            case .float(let f): return f
            default: throw ConfigError(field: key, "expected a number")
            }
        }
        switch key {
        case "collector_id": collectorID = try string()
        case "endpoints":
            guard case .strings(let list) = value else { throw ConfigError(field: key, "expected an array of strings") }
            endpoints = list
        case "receive_queue": receiveQueue = try integer()
        case "memory_budget_mib": memoryBudgetMiB = try integer()
        case "max_connections": maxConnections = try integer()
        case "shutdown_drain_seconds": shutdownDrainSeconds = try integer()
        case "future_tolerance_seconds": futureToleranceSeconds = try integer()
        case "curve_secret_key_file": curveSecretKeyFile = try string()
        case "curve_allowed_producers_dir": curveAllowedProducersDir = try string()
        case "window_seconds": windowSeconds = try integer()
        case "allowed_lateness_seconds": allowedLatenessSeconds = try integer()
        case "shards": shards = try integer()
        case "max_series_per_shard": maxSeriesPerShard = try integer()
        case "data_directory": dataDirectory = try string()
        case "file_max_bytes": fileMaxBytes = try integer()
        case "file_max_seconds": fileMaxSeconds = try integer()
        case "file_retention": fileRetention = try integer()
        case "fsync": fsync = try string()
        case "journal":
            guard case .boolean(let b) = value else { throw ConfigError(field: key, "expected true or false") }
            journal = b
        case "journal_directory": journalDirectory = try string()
        case "pub_endpoint": pubEndpoint = try string()
        case "replay_endpoint": replayEndpoint = try string()
        case "json_lines": jsonLines = try string()
        case "sink_queue": sinkQueue = try integer()
        case "summary":
            guard case .boolean(let b) = value else { throw ConfigError(field: key, "expected true or false") }
            summary = b
        case "index":
            guard case .boolean(let b) = value else { throw ConfigError(field: key, "expected true or false") }
            index = b
        case "policy_file": policyFile = try string()
        case "index_replay_windows": indexReplayWindows = try integer()
        case "baseline_snapshot": baselineSnapshot = try string()
        case "alertmanager_url": alertmanagerURL = try string()
        case "alert_webhook_url": alertWebhookURL = try string()
        case "http_listen": httpListen = try string()
        case "http_token": httpToken = try string()
        case "http_windows": httpWindows = try integer()
        case "http_max_label_sets": httpMaxLabelSets = try integer()
        case "http_metric_labels":
            guard case .strings(let list) = value else { throw ConfigError(field: key, "expected an array of strings") }
            httpMetricLabels = list
        case "http_vllm_metrics":
            guard case .boolean(let b) = value else { throw ConfigError(field: key, "expected true or false") }
            httpVLLMMetrics = b
        case "http_vllm_max_model_len": httpVLLMMaxModelLength = try integer()
        case "http_fleet_index":
            guard case .boolean(let b) = value else { throw ConfigError(field: key, "expected true or false") }
            httpFleetIndex = b
        case "otlp_listen": otlpListen = try string()
        case "otlp_max_body_bytes": otlpMaxBodyBytes = try integer()
        case "otlp_version_attribute": otlpVersionAttribute = try string()
        case "otlp_ring_attribute": otlpRingAttribute = try string()
        case "otlp_route_attribute": otlpRouteAttribute = try string()
        case "otlp_user_attribute": otlpUserAttribute = try string()
        case "otlp_tag_attributes":
            guard case .strings(let list) = value else { throw ConfigError(field: key, "expected an array of strings") }
            otlpTagAttributes = list
        case "otlp_id_secret": otlpIDSecret = try string()
        case "postgres_url": postgresURL = try string()
        case "postgres_schema": postgresSchema = try string()
        case "postgres_password_file": postgresPasswordFile = try string()
        case "postgres_retention_days": postgresRetentionDays = try integer()
        case "hll_precision": hllPrecision = try integer()
        case "heavy_hitters": heavyHitters = try integer()
        case "heavy_hitter_tag": heavyHitterTag = try string()
        case "series_tags", "breakdown_keys":
            guard case .strings(let list) = value else { throw ConfigError(field: key, "expected an array of strings") }
            if key == "series_tags" { seriesTags = list } else { breakdownKeys = list }
        case "cohort_distributions":
            guard case .strings(let list) = value else { throw ConfigError(field: key, "expected an array of strings") }
            cohortDistributions = list
        case "cohort_categories":
            guard case .boolean(let b) = value else { throw ConfigError(field: key, "expected true or false") }
            cohortCategories = b
        default:
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0] == "prices",
                  let dot = parts[1].lastIndex(of: ".") else {
                throw ConfigError(field: key, "unknown setting (known: \(DaemonConfiguration.keys.joined(separator: ", ")), prices.<model>.input|cached_input|output|cache_write|reasoning)")
            }
            let model = String(parts[1][..<dot]), field = String(parts[1][parts[1].index(after: dot)...])
            var price = prices[model] ?? ModelPrice(input: .nan, cachedInput: .nan, output: .nan, cacheWrite: .nan, reasoning: .nan)
            let amount = try number()
            guard amount >= 0 else { throw ConfigError(field: key, "a price is ≥ 0") }
            switch field {
            case "input": price.input = amount
            case "cached_input": price.cachedInput = amount
            case "output": price.output = amount
            case "cache_write": price.cacheWrite = amount
            case "reasoning": price.reasoning = amount
            default: throw ConfigError(field: key, "a price has input, cached_input and output, and optionally cache_write and reasoning")
            }
            prices[model] = price
        }
    }

    /// Checks ranges and combinations.
    public func validate() throws(ConfigError) {
        if collectorID.isEmpty || collectorID.utf8.count > 255 { throw ConfigError(field: "collector_id", "1 … 255 bytes") }
        if endpoints.isEmpty { throw ConfigError(field: "endpoints", "at least one endpoint") }
        for endpoint in endpoints + [pubEndpoint, replayEndpoint] where !endpoint.isEmpty {
            guard endpoint.hasPrefix("tcp://") || endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") else {
                throw ConfigError(field: "endpoints", "\(endpoint): expected tcp://, ipc:// or inproc://")
            }
        }
        if !(1...1_000_000).contains(receiveQueue) {
            throw ConfigError(field: "receive_queue", "\(receiveQueue) not in 1 … 1000000")
        }
        if !(64...1_048_576).contains(memoryBudgetMiB) {
            throw ConfigError(field: "memory_budget_mib", "\(memoryBudgetMiB) not in 64 … 1048576")
        }
        if !(1...100_000).contains(maxConnections) {
            throw ConfigError(field: "max_connections", "\(maxConnections) not in 1 … 100000")
        }
        _ = try ingestBudget
        if !(0...60).contains(shutdownDrainSeconds) {
            throw ConfigError(field: "shutdown_drain_seconds", "\(shutdownDrainSeconds) not in 0 … 60")
        }
        if !(0...3_600).contains(futureToleranceSeconds) {
            throw ConfigError(field: "future_tolerance_seconds", "\(futureToleranceSeconds) not in 0 … 3600")
        }
        if curveSecretKeyFile.isEmpty != curveAllowedProducersDir.isEmpty {
            throw ConfigError(field: curveSecretKeyFile.isEmpty ? "curve_secret_key_file" : "curve_allowed_producers_dir",
                              "CURVE needs both curve_secret_key_file and curve_allowed_producers_dir")
        }
        if !(1...3_600).contains(windowSeconds) { throw ConfigError(field: "window_seconds", "\(windowSeconds) not in 1 … 3600") }
        if !(0...600).contains(allowedLatenessSeconds) {
            throw ConfigError(field: "allowed_lateness_seconds", "\(allowedLatenessSeconds) not in 0 … 600")
        }
        if !(0...256).contains(shards) { throw ConfigError(field: "shards", "\(shards) not in 0 … 256") }
        if !(1...10_000_000).contains(maxSeriesPerShard) {
            throw ConfigError(field: "max_series_per_shard", "\(maxSeriesPerShard) not in 1 … 10000000")
        }
        if dataDirectory.isEmpty { throw ConfigError(field: "data_directory", "must not be empty") }
        if fileMaxBytes < 4_096 { throw ConfigError(field: "file_max_bytes", "at least 4096") }
        if fileMaxSeconds < 1 { throw ConfigError(field: "file_max_seconds", "at least 1") }
        if fileRetention < 1 { throw ConfigError(field: "file_retention", "at least 1 file") }
        if fsync != "always" && fsync != "never" { throw ConfigError(field: "fsync", "always or never, not \(fsync)") }
        if !(1...100_000).contains(sinkQueue) { throw ConfigError(field: "sink_queue", "\(sinkQueue) not in 1 … 100000") }
        if !(0...100_000).contains(indexReplayWindows) {
            throw ConfigError(field: "index_replay_windows", "\(indexReplayWindows) not in 0 … 100000")
        }
        for (field, url) in [("alertmanager_url", alertmanagerURL), ("alert_webhook_url", alertWebhookURL)] where !url.isEmpty {
            if case .failure(let error) = HTTPURL.parse(url) { throw ConfigError(field: field, error.message) }
            if !index { throw ConfigError(field: field, "needs index = true (the alerts come from the index)") }
        }
        if !httpListen.isEmpty && DaemonConfiguration.hostPort(httpListen) == nil {
            throw ConfigError(field: "http_listen", "\(httpListen): expected host:port (port 1 … 65535), e.g. 127.0.0.1:7414, [::1]:7414")
        }
        if !(1...100_000).contains(httpWindows) { throw ConfigError(field: "http_windows", "\(httpWindows) not in 1 … 100000") }
        if !(1...1_000_000).contains(httpMaxLabelSets) {
            throw ConfigError(field: "http_max_label_sets", "\(httpMaxLabelSets) not in 1 … 1000000")
        }
        if httpFleetIndex && (postgresURL.isEmpty || !index || httpListen.isEmpty) {
            throw ConfigError(field: "http_fleet_index", "needs postgres_url set, index = true and http_listen (the fleet's rows are read from PostgreSQL and served by the web face)")
        }
        if !(1...10_000_000).contains(httpVLLMMaxModelLength) {
            throw ConfigError(field: "http_vllm_max_model_len", "\(httpVLLMMaxModelLength) not in 1 … 10000000")
        }
        if !otlpListen.isEmpty && DaemonConfiguration.hostPort(otlpListen) == nil {
            throw ConfigError(field: "otlp_listen", "\(otlpListen): expected host:port, e.g. 127.0.0.1:4318")
        }
        if !(1_024...(64 << 20)).contains(otlpMaxBodyBytes) {
            throw ConfigError(field: "otlp_max_body_bytes", "\(otlpMaxBodyBytes) not in 1024 … 67108864")
        }
        if !postgresURL.isEmpty && !postgresURL.hasPrefix("postgres://") && !postgresURL.hasPrefix("postgresql://") {
            throw ConfigError(field: "postgres_url", "expected postgres://user@host[:port]/database")
        }
        if !(0...100_000).contains(postgresRetentionDays) {
            throw ConfigError(field: "postgres_retention_days", "\(postgresRetentionDays) not in 0 … 100000")
        }
        if let problem = tagPolicy.validationError() {
            throw ConfigError(field: breakdownKeys.isEmpty ? "series_tags" : "breakdown_keys", problem)
        }
        // /metrics labels its fleet families from series labels: a tag that is not a series
        // dimension would be "" on every series, silently.
        for label in httpMetricLabels where label.hasPrefix("tag:") {
            let key = String(label.dropFirst(4))
            switch tagPolicy.role(of: key) {
            case .dimension: break
            case .breakdown:
                throw ConfigError(field: "http_metric_labels", "\(label): \(key) is a breakdown key, not a series label (its cohorts are in the index and the snapshots); add it to series_tags instead, or drop the label")
            case .dropped:
                throw ConfigError(field: "http_metric_labels", "\(label): tag \(key) is dropped (not in series_tags)")
            }
        }
        if case .failure(let unknown) = SummarizedDigests.leaving(cohortDistributions) {
            throw ConfigError(field: "cohort_distributions", "unknown distribution \"\(unknown.name)\" (known: \(SummarizedDigests.names.map(\.name).joined(separator: ", ")))")
        }
        if heavyHitters != 0 && !(8...256).contains(heavyHitters) {
            throw ConfigError(field: "heavy_hitters", "\(heavyHitters) not 0 (off) or in 8 … 256")
        }
        if !heavyHitterTag.isEmpty && heavyHitters == 0 {
            throw ConfigError(field: "heavy_hitter_tag", "\"\(heavyHitterTag)\" ranks tenants in the heavy hitters, which are off: set heavy_hitters (8 … 256) too")
        }
        if heavyHitterTag.utf8.count > 255 {
            throw ConfigError(field: "heavy_hitter_tag", "longer than a frame's tag key may be (255 bytes)")
        }
        if !(10...16).contains(hllPrecision) { throw ConfigError(field: "hll_precision", "\(hllPrecision) not in 10 … 16") }
        for (model, price) in prices where price.input.isNaN || price.cachedInput.isNaN || price.output.isNaN {
            throw ConfigError(field: "prices.\(model)", "needs input, cached_input and output")
        }
    }

    /// `host:port` split (brackets removed from an IPv6 host), or nil when it is not one.
    public static func hostPort(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (1...65_535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") && host.count > 2 {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            return nil  // an IPv6 host needs brackets
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }) else { return nil }
        return (host, port)
    }

    /// The ingest's bounds derived from ``memoryBudgetMiB`` and ``maxConnections``.
    public var ingestBudget: IngestBudget {
        get throws(ConfigError) {
            try IngestBudget(budgetMiB: memoryBudgetMiB, maxConnections: maxConnections, receiveQueueCap: receiveQueue)
        }
    }

    /// How ``memoryBudgetMiB`` is split between the parts that hold memory.
    public var memoryShares: MemoryShares { MemoryShares(budgetMiB: memoryBudgetMiB) }

    /// The engine configuration these settings describe.
    /// ``seriesTags`` and ``breakdownKeys`` as the engine takes them.
    public var tagPolicy: TagPolicy {
        TagPolicy(seriesKeys: seriesTags, breakdownKeys: breakdownKeys, heavyHitterKey: heavyHitterTag.isEmpty ? nil : heavyHitterTag)
    }

    public var engine: EngineConfiguration {
        var engine = EngineConfiguration()
        if shards > 0 { engine.shards = shards }
        let shares = memoryShares
        engine.maxSeriesPerShardWindow = shares.seriesPerShard(configured: maxSeriesPerShard, shards: engine.shards)
        engine.memoryLimitBytes = shares.tableBytes
        engine.maxSymbols = shares.maxSymbols
        engine.window = WindowPolicy(intervalMicros: UInt64(windowSeconds) * 1_000_000,
                                     allowedLatenessMicros: UInt64(allowedLatenessSeconds) * 1_000_000,
                                     futureToleranceMicros: UInt64(futureToleranceSeconds) * 1_000_000)
        engine.prices = PriceTable()
        engine.prices.prices = prices
        engine.sketches.hllPrecision = hllPrecision
        engine.tags = tagPolicy
        engine.heavyHitterCapacity = heavyHitters
        if case .success(let summaries) = SummarizedDigests.leaving(cohortDistributions) { engine.cohortSummaries = summaries }
        engine.cohortCategories = cohortCategories
        return engine
    }

    /// The commented default configuration (`tallyd --print-default-config`).
    public static let defaultText = """
    # tallyd configuration (TOML). Every setting may also come from an environment
    # variable TALLY_<SETTING> (e.g. TALLY_WINDOW_SECONDS=5) or a command-line flag;
    # flags win over variables, variables over this file.

    # Names this collector in every snapshot.
    collector_id = "tally-local"
    # ZeroMQ endpoints to bind PULL sockets on (tcp:// or ipc://), one ingest thread each.
    # To accept a fleet on the network: ["tcp://0.0.0.0:7411"]
    endpoints = ["tcp://127.0.0.1:7411"]
    # Most batches buffered per connected producer (ZeroMQ's receive high-water mark);
    # the memory budget below usually sets a smaller one, which then applies.
    receive_queue = 10000
    # Memory budget (MiB). Half of it bounds the ingest's receive queues: a message over
    # 1 MiB closes its connection, and receive queue = min(receive_queue,
    # budget / 2 / max_connections / 1 MiB - 1) batches per connection (≥ 1). A quarter
    # bounds the windows' series, counted at their worst case as they grow (256 B at a
    # series' first frame, 16 KiB more at its second, the rest of 35 KiB at its 31st, 16 KiB
    # more each time a busy series' histograms need room);
    # past it new series fold into ~overflow~ (frames.folded_memory), and busy series refused
    # histogram room stay on their t-digests (series.histograms_refused).
    # An eighth bounds the flush of one window: series per window ≤ budget / 16 / 2,623 B
    # (with max_series_per_shard below, whichever is smaller; 25,584 at 1024 MiB). A
    # sixteenth bounds the symbol table: budget / 16 / 448 B strings; past it new names map
    # to ~overflow~ until names no window uses any more are released (symbols.released).
    # A thirty-second bounds the sinks' queues in bytes (sink.<name>.dropped.queue_bytes).
    memory_budget_mib = 1024
    # Open producer connections admitted over all endpoints; more are refused (counted).
    max_connections = 128
    # At shutdown, batches already received are aggregated for up to this long (s);
    # what is left after it is counted as dropped (ingest.dropped.shutdown_frames).
    shutdown_drain_seconds = 2
    # Frames stamped further ahead of tallyd's clock (s) are dropped as "future".
    future_tolerance_seconds = 10
    # CURVE (encryption + producer authentication) on the ingest, PUB and replay sockets:
    # the server's secret key file and a directory of allowed producers' *.pub files,
    # both written by `tallyd keygen`. "" = plain TCP (a warning when bound beyond loopback).
    curve_secret_key_file = ""
    curve_allowed_producers_dir = ""
    # Window length (s, 1 … 3600); windows align to wall-clock multiples.
    window_seconds = 10
    # A frame may arrive this long (s) after its window ended and still count in it;
    # later frames are counted as late and dropped.
    allowed_lateness_seconds = 2
    # Shard threads folding frames; 0 = one per core.
    shards = 0
    # Series per shard and window; past it new keys fold into one overflow series (counted).
    # The memory budget may set a smaller cap (its flush share ÷ shards), which then applies.
    max_series_per_shard = 50000

    # File sink (always on): binary snapshots appended to files in this directory.
    data_directory = "tally-data"
    file_max_bytes = 67108864       # start a new file past 64 MiB
    file_max_seconds = 3600         # or once the file is an hour old
    file_retention = 200            # files kept; older ones are deleted
    fsync = "always"                # "always" after each snapshot, or "never"
    # The ingest journal: each accepted batch is appended to <data_directory>/journal/
    # before it is aggregated (no fsync), and deleted once its windows are stored; a
    # collector killed outright (SIGKILL, OOM, crash) stores its unsealed windows when it
    # restarts. Costs one write of the batch per batch; disk ~ window + lateness of ingest.
    journal = true
    # Where the journal goes ("" = <data_directory>/journal). A tmpfs such as
    # "/dev/shm/tally-journal" gives the same guarantee without disk writeback; one
    # directory per collector, and on the same host as its data directory.
    journal_directory = ""

    # Snapshot stream for subscribers (ZeroMQ PUB); "" disables it.
    pub_endpoint = "tcp://127.0.0.1:7412"
    # Serves stored snapshots by sequence range (ZeroMQ REP), to fill gaps; "" disables it.
    replay_endpoint = "tcp://127.0.0.1:7413"
    # JSON lines of every snapshot: "" (off), "-" (stdout) or a file path.
    json_lines = ""
    # Snapshots a sink may queue before it drops them (counted by sink and reason); the
    # memory budget bounds the queues' bytes too.
    sink_queue = 64
    # HyperLogLog precision p of each series' distinct users and sessions, 10 … 16: exact
    # up to 2^p/16 values, then 2^p registers (RMSE ≈ 0.65 % a series, 0.8 % a union at 14).
    # Snapshots carry it; a PostgreSQL schema holds one p (12 in Tally before December 2026).
    hll_precision = 14
    # Cohort tags (a frame's key=value tags, e.g. lang=de). With neither list below set,
    # every tag is part of the series key, so series multiply with each tag's values. Set
    # them, and a tag key in series_tags stays in the series key; a tag key in
    # breakdown_keys (at most 4) instead gives each deployment slice (model, version,
    # prompt version, route, ring) one cohort aggregate per value of that key, so they add
    # up: slices × (values of key 1 + values of key 2 + …); any other tag is dropped and
    # counted (tags.dropped). Cohort aggregates (SNAPSHOT.md, "Cohort aggregates") feed the
    # index's cohort scopes and fairness; they keep no time per output token or sessions.
    # series_tags = ["tenant"]
    # breakdown_keys = ["region", "lang", "tier"]
    # The distributions cohort aggregates keep as full t-digests (of latency, ttft, queue,
    # input_tokens, output_tokens, cost). The others are kept as summaries: exact count,
    # min, max and sum (token sums, mean queue time), no quantiles; the index leaves the
    # KPIs that read their quantiles out of cohort scopes (queue_p95 by default). Each
    # distribution kept costs ~2 B a frame net in the demo's snapshots (Benchmarks/README.md,
    # "Cohort summaries").
    cohort_distributions = ["latency", "ttft", "cost"]
    # Whether cohort aggregates count input categories. Only drift over cohort scopes reads
    # them ([drift] scopes with "cohort", off by default); keeping them costs ~2 B a frame
    # in the demo's snapshots (Benchmarks/README.md, "Cohort categories").
    cohort_categories = false
    # Heavy hitters: per deployment slice and window, the heaviest hashed user ids by
    # requests and by cost, each in a Space-Saving summary of this many counters (8 … 256;
    # 0 = off). Every estimate over-counts by at most (the slice's total) / k and never
    # under-counts; every user above that share is held (SNAPSHOT.md, "Heavy hitters").
    # Costs ~740 instructions a frame at k = 16 (an insert scans k keys; Benchmarks/README.md)
    # and 256 B + 192 B × k a slice and window; adds ~25 B × k a slice to each snapshot
    # (costs in units of 2^-32 USD, each frame's rounded up to that grid).
    heavy_hitters = 0
    # A tag key (e.g. "tenant") whose values the heavy hitters also rank, per slice, by
    # requests and by cost, with the same bounds, named in the snapshot; the tag need not be
    # a series tag or a breakdown key (it then makes no series and is not counted dropped).
    # Needs heavy_hitters; doubles their memory and adds ~8 B × k a slice to each snapshot
    # (the demo: 1.3 B a frame; Benchmarks/README.md, "Cohort categories and cost units").
    heavy_hitter_tag = ""
    # Print a per-window summary table on stdout.
    summary = false

    # The index: traffic lights, alerts, drift, fairness gaps and canary verdicts at every
    # window (documents on the JSON-lines sink and the PUB stream, topic "tally.index").
    index = true
    # Policy file over the default policy (tallyd --print-default-policy); "" = the default.
    policy_file = ""
    # Stored windows replayed through the index at start, so that a restart neither
    # re-pages nor forgets a firing alert.
    index_replay_windows = 360
    # A snapshot file pinned as the drift baseline (with the policy's drift.baseline = "pinned").
    baseline_snapshot = ""

    # Alerts out (with index = true): every window, the firing alerts and those the window
    # resolved are posted as a JSON array of Alertmanager API v2 alerts. "" = off.
    # An Alertmanager, http://host[:port][/prefix]: posts go to <url>/api/v2/alerts.
    alertmanager_url = ""
    # Any receiver of the same array, http://host[:port][/path], posted to as given.
    alert_webhook_url = ""
    # The web face: dashboard, /metrics (Prometheus and OpenMetrics), JSON API,
    # /healthz and /readyz on host:port; "" disables it. Read-only.
    http_listen = "127.0.0.1:7414"
    # A bearer token required for everything but /healthz ("" = none). Prefer the
    # TALLY_HTTP_TOKEN variable to writing it here.
    http_token = ""
    # Windows whose index documents the web face keeps in memory (trends, /api/v1/index/windows).
    http_windows = 360
    # Label sets per metric family on /metrics; past it the rest fold into "other"
    # (every label but ring), counted in tally_metrics_label_sets_folded_total.
    http_max_label_sets = 500
    # The series labels /metrics exposes: model, model_version, prompt_version, route,
    # ring, and tag:KEY for a cohort tag (exposed as label KEY).
    http_metric_labels = ["model", "model_version", "ring"]
    # vLLM's request families (vllm:e2e_request_latency_seconds, …) by model_name at
    # /metrics/vllm, for dashboards built for vLLM.
    http_vllm_metrics = false
    # vLLM's max_model_len: the largest bound of its token histograms (1, 2, 5, 10, … ≤ it).
    http_vllm_max_model_len = 131072
    # /api/v1/fleet/index/windows: the index over every collector's rows in PostgreSQL
    # (merged per window, as tally-index --postgres-url), beside this collector's own.
    # Needs postgres_url and index = true.
    http_fleet_index = false

    # OTLP/HTTP ingest of GenAI spans: POST /v1/traces (protobuf or JSON, gzip) on host:port;
    # "" = off. OTLP's usual value: "127.0.0.1:4318". Mapping: TallyOTLP/OTLP.md.
    otlp_listen = ""
    otlp_max_body_bytes = 4194304   # larger bodies (before or after gzip) get 413
    # Span or resource attributes for what the GenAI conventions do not name.
    otlp_version_attribute = "service.version"
    otlp_ring_attribute = "tally.ring"          # values stable, canary, shadow
    otlp_route_attribute = "gen_ai.operation.name"
    otlp_user_attribute = "user.id"             # hashed, never stored raw
    otlp_tag_attributes = ["provider=gen_ai.provider.name"]   # key=attribute, at most 8
    # Prepended to user and conversation ids before hashing; prefer TALLY_OTLP_ID_SECRET.
    otlp_id_secret = ""

    # PostgreSQL sink (needs the hll and tdigest extensions; tables in SCHEMA.md):
    # postgres://user@host[:port]/database, "" = off. tallyd creates and migrates the schema.
    # The password goes in postgres_password_file (first line) or TALLY_POSTGRES_PASSWORD.
    postgres_url = ""
    postgres_schema = "tally"
    postgres_password_file = ""
    postgres_retention_days = 30    # day partitions kept; 0 = keep everything

    # Prices per million tokens (US dollars). Models without a price get no cost
    # and are counted as unpriced. input_tokens on the wire include cache reads and
    # writes, output_tokens include reasoning; each token is priced once:
    #   cost = (input − reads − writes)·input + reads·cached_input + writes·cache_write
    #        + (output − reasoning)·output + reasoning·reasoning
    # cache_write (default: input) and reasoning (default: output) are optional.
    # [prices."llama-3.1-70b-instruct"]
    # input = 0.88
    # cached_input = 0.44
    # output = 0.88
    # [prices."claude-sonnet"]      # a provider that bills cache writes at 1.25× input
    # input = 3.0
    # cached_input = 0.3
    # cache_write = 3.75
    # output = 15.0

    """
}
