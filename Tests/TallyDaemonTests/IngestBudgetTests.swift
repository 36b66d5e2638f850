import Testing
@testable import TallyDaemon
import TallyWire

/// The ingest's bounds follow from the memory budget as the README's formula says.
@Suite struct IngestBudgetTests {
    @Test func defaultsGiveThreeBatchesPerConnectionAndHalfTheBudgetAtWorst() throws {
        let budget = try DaemonConfiguration().ingestBudget
        #expect(budget.maxConnections == 128)
        #expect(budget.receiveQueueBatches == 512 / 128 - 1)
        #expect(budget.worstCaseQueuedBytes == 512 << 20)
        #expect(IngestBudget.maxMessageBytes == WireLimits.maxBatchBytes)
    }

    @Test(arguments: [(1_024, 128, 10_000, 3), (256, 32, 10_000, 3), (4_096, 64, 10_000, 31), (4_096, 64, 5, 5), (64, 16, 10, 1)])
    func theQueueIsHalfTheBudgetOverConnectionsInMiBLessOne(budgetMiB: Int, connections: Int, cap: Int, batches: Int) throws {
        let budget = try IngestBudget(budgetMiB: budgetMiB, maxConnections: connections, receiveQueueCap: cap)
        #expect(budget.receiveQueueBatches == batches)
        #expect(budget.worstCaseQueuedBytes <= budgetMiB << 19, "never more than half the budget")
    }

    @Test func aBudgetTooSmallForTheConnectionsIsAConfigurationError() throws {
        var c = DaemonConfiguration()
        c.memoryBudgetMiB = 256
        c.maxConnections = 100
        #expect(#expect(throws: ConfigError.self) { try c.validate() }?.field == "memory_budget_mib")
        try c.load(file: "memory_budget_mib = 1024\nmax_connections = 100")
        #expect(try c.ingestBudget.receiveQueueBatches == 4)
    }

    @Test(arguments: [
        ("memory_budget_mib = 32", "memory_budget_mib"),
        ("max_connections = 0", "max_connections"),
        ("shutdown_drain_seconds = 61", "shutdown_drain_seconds"),
        ("future_tolerance_seconds = -1", "future_tolerance_seconds"),
        ("curve_secret_key_file = \"/x\"", "curve_allowed_producers_dir"),
        ("curve_allowed_producers_dir = \"/x\"", "curve_secret_key_file"),
    ])
    func hardeningKeysAreChecked(text: String, field: String) {
        var c = DaemonConfiguration()
        #expect(#expect(throws: ConfigError.self) { try c.load(file: text) }?.field == field)
    }

    @Test func environmentSetsTheHardeningKeys() throws {
        var c = DaemonConfiguration()
        try c.applyEnvironment(["TALLY_MEMORY_BUDGET_MIB": "2048", "TALLY_MAX_CONNECTIONS": "256",
                                "TALLY_FUTURE_TOLERANCE_SECONDS": "5", "TALLY_SHUTDOWN_DRAIN_SECONDS": "1"])
        #expect(c.memoryBudgetMiB == 2_048 && c.maxConnections == 256 && c.shutdownDrainSeconds == 1)
        #expect(c.engine.window.futureToleranceMicros == 5_000_000)
    }
}
