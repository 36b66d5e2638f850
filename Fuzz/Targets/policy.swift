import TallyCore
import TallyIndex

/// Fuzz target `policy`: index policy files (`TallyIndex/Policy/Policy+File.swift`,
/// read over the default policy as tallyd, tally-index and tally-tail do).
///
/// Every input is read as UTF-8 (invalid bytes replaced) and parsed. A policy that
/// parses must validate again and must run: an index engine with it evaluates three
/// windows of a small fleet (``SnapshotFixture``) without trapping.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicy(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let policy: Policy
    do { policy = try Policy(file: text) } catch {
        fuzzCheck(!error.field.isEmpty && !error.message.isEmpty, "an error without field or message: \(error)")
        return 0
    }
    do { try policy.validate() } catch { fuzzFailure("a parsed policy does not validate: \(error)") }
    let engine = IndexEngine(policy: policy, collectorID: "fuzz")
    for window in windows {
        do {
            let documents = try engine.evaluate(window)
            fuzzCheck(!documents.isEmpty, "evaluate returned no document")
        } catch { fuzzFailure("a valid window was refused: \(error)") }
    }
    return 0
}

/// Three consecutive windows, built once.
let windows = (0..<3).map { SnapshotFixture.window($0) }

/// The default policy, an empty file, and a policy that sets a key of every table.
func fuzzSeeds() -> [[UInt8]] {
    let custom = #"""
        [index]
        scopes = ["fleet", "model", "ring", "model_ring"]
        cohort_keys = ["tenant", "language"]
        spans = ["1m", "1h"]
        span_blocks = 6

        [alerts]
        firing_after_windows = 2
        no_data_scopes = ["model"]
        kpi_scopes = ["fleet", "cohort"]

        [kpis.error_rate]
        green = 0.01
        yellow = 0.05
        alert = "red"
        owner = "team-serving"
        action_red = "page the on-call"

        [slos.availability]
        objective = 0.999
        bad_statuses = ["error", "timeout"]
        [slos.availability.fast]
        burn_rate = 14.4
        long_windows = 12
        short_windows = 1
        severity = "page"

        [drift]
        baseline = "previous"
        span = "1m"
        bins = 10
        psi_yellow = 0.1
        psi_red = 0.25

        [fairness]
        keys = ["language"]
        [fairness.gaps.error_rate]
        measure = "ratio"
        yellow = 1.5
        red = 2

        [canary]
        kpis = ["error_rate"]
        alpha = 0.01
        """#
    return [Policy.defaultText, "", custom].map { Array($0.utf8) }
}
