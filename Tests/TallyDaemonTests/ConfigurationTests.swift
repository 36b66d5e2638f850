import Testing
import TallyCore
@testable import TallyDaemon

@Suite struct ConfigurationTests {
    @Test func theCommentedDefaultIsTheDefault() throws {
        var c = DaemonConfiguration()
        try c.load(file: DaemonConfiguration.defaultText)
        #expect(c == DaemonConfiguration())
    }

    @Test func fileEnvironmentAndPrices() throws {
        var c = DaemonConfiguration()
        try c.load(file: """
        collector_id = "edge-1"   # a comment
        endpoints = ["tcp://0.0.0.0:7411", "ipc:///tmp/tally.sock"]
        window_seconds = 5
        [prices."llama-3.1-70b-instruct"]
        input = 0.88
        cached_input = 0.44
        output = 1
        """)
        #expect(c.collectorID == "edge-1" && c.endpoints.count == 2 && c.windowSeconds == 5)
        #expect(c.prices["llama-3.1-70b-instruct"] == ModelPrice(input: 0.88, cachedInput: 0.44, output: 1, cacheWrite: 0.88, reasoning: 1),
                "cache writes default to the input price, reasoning to the output price")
        var billed = DaemonConfiguration()
        try billed.load(file: """
        [prices.claude]
        cache_write = 3.75
        input = 3
        cached_input = 0.3
        output = 15
        reasoning = 20
        """)
        #expect(billed.prices["claude"] == ModelPrice(input: 3, cachedInput: 0.3, output: 15, cacheWrite: 3.75, reasoning: 20))
        try c.applyEnvironment(["TALLY_WINDOW_SECONDS": "2", "TALLY_ENDPOINTS": "ipc:///tmp/a,ipc:///tmp/b", "HOME": "/x",
                                "TALLY_RECEIVE_QUEUE": "64"])
        #expect(c.windowSeconds == 2 && c.endpoints == ["ipc:///tmp/a", "ipc:///tmp/b"] && c.receiveQueue == 64)
        #expect(c.engine.window.intervalMicros == 2_000_000)
        #expect(c.engine.sketches.hllPrecision == 14, "snapshots count users at p = 14 by default")
        try c.applyEnvironment(["TALLY_HLL_PRECISION": "12"])
        #expect(c.hllPrecision == 12 && c.engine.sketches.hllPrecision == 12)
    }

    @Test(arguments: [
        ("window_seconds = 0", "window_seconds"),
        ("receive_queue = 0", "receive_queue"),
        ("window_seconds = \"ten\"", "window_seconds"),
        ("windows = 3", "windows"),
        ("fsync = \"sometimes\"", "fsync"),
        ("endpoints = [\"http://x\"]", "endpoints"),
        ("collector_id = \"unterminated", "collector_id"),
        ("just words", "line 1"),
        ("# found by fuzzing\n\"\" = off", "line 2"),
        ("[prices.\"\"]\ninput = 1", "line 1"),
        ("[prices.m]\ninput = 1", "prices.m"),
        ("[prices.m]\ninput = -1", "prices.m.input"),
        ("[prices.m]\ninput = 1\ncached_input = 1\noutput = 1\ncache_write = -2", "prices.m.cache_write"),
        ("[prices.m]\ncache_write = 1\nreasoning = 1", "prices.m"),
        ("[prices.m]\ninput = 1\ncached_input = 1\noutput = 1\ncache_read = 1", "prices.m.cache_read"),
        ("shards = 1\nshards = 2", "shards"),
        ("alertmanager_url = \"https://127.0.0.1:9093\"", "alertmanager_url"),
        ("alert_webhook_url = \"http://hooks:0/x\"", "alert_webhook_url"),
        ("hll_precision = 18", "hll_precision"),
        ("hll_precision = 9", "hll_precision"),
        ("breakdown_keys = [\"lang\"]\nseries_tags = [\"lang\"]", "breakdown_keys"),
        ("breakdown_keys = [\"a\", \"b\", \"c\", \"d\", \"e\"]", "breakdown_keys"),
        ("breakdown_keys = \"lang\"", "breakdown_keys"),
        ("breakdown_keys = [\"lang\"]\nhttp_metric_labels = [\"model\", \"tag:lang\"]", "http_metric_labels"),
        ("series_tags = []\nhttp_metric_labels = [\"model\", \"tag:tenant\"]", "http_metric_labels"),
        ("cohort_distributions = [\"latency\", \"tpot\"]", "cohort_distributions"),
        ("cohort_distributions = \"latency\"", "cohort_distributions"),
        ("heavy_hitters = 4", "heavy_hitters"),
        ("heavy_hitters = 257", "heavy_hitters"),
        ("heavy_hitters = -1", "heavy_hitters"),
        ("heavy_hitters = \"16\"", "heavy_hitters"),
        ("heavy_hitter_tag = \"tenant\"", "heavy_hitter_tag"),
        ("heavy_hitters = 16\nheavy_hitter_tag = 3", "heavy_hitter_tag"),
        ("heavy_hitters = 16\nheavy_hitter_tag = \"\(String(repeating: "t", count: 256))\"", "heavy_hitter_tag"),
    ])
    func invalidFilesNameTheField(text: String, field: String) {
        var c = DaemonConfiguration()
        #expect {
            try c.load(file: text)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.field == field && !error.message.isEmpty
        }
    }

    /// `series_tags` and `breakdown_keys` reach the engine's tag policy; a tag kept as a series
    /// dimension may still label /metrics.
    @Test func tagPolicyReachesTheEngine() throws {
        var c = DaemonConfiguration()
        #expect(c.engine.tags == .legacy)
        try c.load(file: "series_tags = [\"tenant\"]\nbreakdown_keys = [\"lang\", \"tier\"]\nhttp_metric_labels = [\"model\", \"tag:tenant\"]")
        #expect(c.engine.tags == TagPolicy(seriesKeys: ["tenant"], breakdownKeys: ["lang", "tier"]))
        #expect(c.engine.tags.role(of: "region") == .dropped)
    }

    /// `cohort_distributions` reaches the engine as the distributions it summarizes: by
    /// default queue time and the token counts; an empty list summarizes all six; the
    /// environment sets it like any list.
    @Test func cohortDistributionsReachTheEngine() throws {
        var c = DaemonConfiguration()
        #expect(c.engine.cohortSummaries == .cohortDefault && SummarizedDigests.cohortDefault == [.queueTime, .inputTokens, .outputTokens])
        try c.load(file: "cohort_distributions = [\"latency\", \"ttft\", \"queue\", \"input_tokens\", \"output_tokens\", \"cost\"]")
        #expect(c.engine.cohortSummaries.isEmpty)
        try c.load(file: "cohort_distributions = []")
        #expect(c.engine.cohortSummaries == .valid)
        try c.applyEnvironment(["TALLY_COHORT_DISTRIBUTIONS": "latency,queue"])
        #expect(c.engine.cohortSummaries == [.timeToFirstToken, .inputTokens, .outputTokens, .cost])
        var bad = DaemonConfiguration()
        #expect(throws: ConfigError.self) { try bad.load(file: "cohort_distributions = [\"p95\"]") }
    }

    /// `cohort_categories` reaches the engine: false by default (cohorts count no input
    /// categories), true from the file or the environment; anything but a boolean is refused.
    @Test func cohortCategoriesReachTheEngine() throws {
        var c = DaemonConfiguration()
        #expect(!c.engine.cohortCategories && EngineConfiguration().cohortCategories)
        try c.load(file: "cohort_categories = true")
        #expect(c.engine.cohortCategories)
        try c.applyEnvironment(["TALLY_COHORT_CATEGORIES": "false"])
        #expect(!c.engine.cohortCategories)
        var bad = DaemonConfiguration()
        #expect(throws: ConfigError.self) { try bad.load(file: "cohort_categories = \"yes\"") }
        #expect(throws: ConfigError.self) { try bad.applyEnvironment(["TALLY_COHORT_CATEGORIES": "1"]) }
    }

    /// `heavy_hitters` reaches the engine (0 by default: none kept), from the file or the environment.
    @Test func heavyHitterCapacityReachesTheEngine() throws {
        var c = DaemonConfiguration()
        #expect(c.engine.heavyHitterCapacity == 0)
        try c.load(file: "heavy_hitters = 16")
        #expect(c.engine.heavyHitterCapacity == 16)
        try c.applyEnvironment(["TALLY_HEAVY_HITTERS": "32"])
        #expect(c.engine.heavyHitterCapacity == 32)
        #expect(c.engine.tags.heavyHitterKey == nil && !c.engine.heavyHitterTenants)
        try c.load(file: "heavy_hitter_tag = \"tenant\"\nbreakdown_keys = [\"lang\"]")
        #expect(c.engine.tags == TagPolicy(breakdownKeys: ["lang"], heavyHitterKey: "tenant") && c.engine.heavyHitterTenants)
        #expect(c.engine.resolvedTags.heavyHitterKey == "tenant")
        try c.applyEnvironment(["TALLY_HEAVY_HITTER_TAG": "org"])
        #expect(c.engine.tags.heavyHitterKey == "org")
    }

    @Test func badEnvironmentNamesTheVariable() {
        var c = DaemonConfiguration()
        #expect(throws: ConfigError(field: "TALLY_WINDOW_SECONDS", "not an integer: soon")) {
            try c.applyEnvironment(["TALLY_WINDOW_SECONDS": "soon"])
        }
    }
}
