import TallyDaemon
import TallySynthetic

/// The traffic shape tally-load sends: a ``SyntheticFleet`` described by a profile
/// file, in the same TOML subset as tallyd's configuration (``ConfigFile``).
/// `tally-load --print-default-profile` prints the built-in profile, which is also
/// the format's documentation; every key is optional and unknown keys are errors.
enum LoadProfile {
    /// The built-in profile: a mid-size fleet whose series count stays in the low
    /// thousands (4 models in 6 versions × 2 prompt versions × 4 routes × 2 rings ×
    /// 20 Zipf tenants × 3 tiers), so load tests measure throughput at a fixed,
    /// realistic cardinality; and clean (no critical safety incident, low error rates,
    /// no scenario), so a clean run should raise no alert.
    static let defaultText = """
        # tally-load traffic profile. Every key is optional; absent keys keep these values.
        # Series = model version × prompt version × route × ring × tenant × each tag pool,
        # so every pool multiplies the cardinality the collector sees.

        tenants = 20                 # tenants (tag "tenant"), drawn with a Zipf law …
        tenant_zipf = 1.1            # … of this exponent
        users = 20000                # distinct users (and 8 sessions each), Zipf; ≤ 10,000,000
        user_zipf = 0.9
        canary_share = 0.05          # share of requests on the canary ring
        error_rate = 0.02            # status error
        timeout_rate = 0.005         # status timeout
        refusal_rate = 0.01          # requests the model declines to answer
        escalation_rate = 0.005      # requests handed off to a human or another system
        task_success_rate = 0.9      # share of ok requests whose task succeeds
        safety_rate = 0.002          # requests with a safety incident (random kind) …
        safety_severity_weights = [6, 3, 1, 0]  # … of severity low, medium, high, critical by these
                                     # relative weights: a clean fleet has no critical incident
        feedback_rate = 0.03         # requests with user feedback …
        feedback_up_share = 0.8      # … this share of it thumbs-up
        category_count = 32          # input categories (drift), uniform over 0 ..< n; 1 … 1000
        latency_sigma = 0.6          # σ of the lognormal total latency around each model's median
        input_tokens_median = 800
        input_tokens_sigma = 1.0
        output_tokens_median = 300
        output_tokens_sigma = 0.8
        cached_input_share = 0.3     # requests with half their prompt from the cache
        prompt_versions = ["p-2024.11", "p-2024.12"]
        routes = ["chat", "summarize", "code", "agent"]
        regions = []                 # tag pools; [] leaves the tag out
        languages = []
        tiers = ["free", "pro", "enterprise"]
        error_classes = ["oom", "upstream_5xx", "invalid_request", "content_filter"]

        # One table per model (replaces the built-in list when any is given):
        # versions, and the median total latency in milliseconds.
        [models."llama-3.1-70b-instruct"]
        versions = ["2024-07-23", "2024-10-02"]
        median_latency_ms = 900

        [models."llama-3.1-8b-instruct"]
        versions = ["2024-07-23"]
        median_latency_ms = 250

        [models."mistral-large"]
        versions = ["2407", "2411"]
        median_latency_ms = 1200

        [models."qwen2.5-coder-32b"]
        versions = ["v1"]
        median_latency_ms = 700

        # Scenarios: scheduled faults, one table each (none by default). One is on from
        # start_s (default 0) to end_s (absent = until the run ends), in seconds since
        # tally-load started, warm-up included, for the frames its scope matches: every
        # scope key given must match (none = every frame) — model, version, ring ("stable"
        # or "canary"), route, prompt_version, tag ("key=value": tenant, region, lang, tier).
        # Effects: *_multiplier (0 … 1000; scaled rates are clamped to 0 … 1) for latency
        # (total, queue and TTFT), error, timeout, refusal, output_tokens, safety,
        # task_success and feedback_down; safety_severity = "critical" (every injected
        # incident); category_shift = 0.3 (that share of the frames gets a new category id,
        # category_count … category_count + 3); silence = true (the frames are not sent;
        # counted as silenced). Several on one frame: their multipliers multiply.
        # [scenarios."canary-regression"]
        # start_s = 60
        # end_s = 180
        # model = "llama-3.1-70b-instruct"
        # ring = "canary"
        # latency_multiplier = 3
        # error_multiplier = 8
        # refusal_multiplier = 4
        """

    /// The built-in fleet (``defaultText``).
    static func defaultFleet() -> SyntheticFleet {
        do {
            return try fleet(from: defaultText, over: SyntheticFleet())
        } catch {
            fatalError("the built-in profile does not parse: \(error)")  // a test parses it
        }
    }

    /// The fleet a profile describes: `base` with the keys the profile sets. Throws a
    /// ``ConfigError`` naming the key (and its line) on bad input.
    static func fleet(from text: String, over base: SyntheticFleet) throws(ConfigError) -> SyntheticFleet {
        let profile = try ProfileEntries(text)
        let known: Set<String> = [
            "tenants", "tenant_zipf", "users", "user_zipf", "canary_share", "error_rate", "timeout_rate", "refusal_rate",
            "escalation_rate", "task_success_rate", "safety_rate", "safety_severity_weights", "feedback_rate",
            "feedback_up_share", "category_count", "latency_sigma", "input_tokens_median", "input_tokens_sigma",
            "output_tokens_median", "output_tokens_sigma", "cached_input_share", "prompt_versions", "routes", "regions",
            "languages", "tiers", "error_classes",
        ]
        let modelTables = profile.tables("models"), scenarioTables = profile.tables("scenarios")
        for (key, entry) in profile.entries where !known.contains(key) {
            // `models.<name>.<field>` and `scenarios.<name>.<field>`: their fields are checked below.
            let inTable = (key.hasPrefix("models.") || key.hasPrefix("scenarios.")) && key.split(separator: ".").count >= 3
            guard inTable else {
                throw ConfigError(field: key, "unknown key (line \(entry.line); known: \(known.sorted().joined(separator: ", ")), "
                                  + "models.<name>.versions|median_latency_ms, scenarios.<name>.<\(ScenarioProfile.keys.joined(separator: "|"))>)")
            }
        }
        var models: [String: SyntheticFleet.Model] = [:]
        for (name, fields) in modelTables {
            let prefix = "models.\(name)."
            if let field = fields.first(where: { $0 != "versions" && $0 != "median_latency_ms" }) {
                throw ConfigError(field: prefix + field, "a model has versions and median_latency_ms (line \(profile.line(prefix + field)))")
            }
            let versions = try profile.strings(prefix + "versions", [], allowEmpty: false)
            let median = try profile.number(prefix + "median_latency_ms", 0, 0.001...600_000) * 1_000
            guard !versions.isEmpty && median > 0 else {
                throw ConfigError(field: "models.\(name)", "needs versions and median_latency_ms")
            }
            models[name] = SyntheticFleet.Model(name: name, versions: versions, medianLatencyMicros: median)
        }
        // Re-made from the (possibly new) population sizes; every other field follows.
        var fleet = SyntheticFleet(
            tenants: Int(try profile.number("tenants", Double(base.tenants.count), 1...1_000_000)),
            users: Int(try profile.number("users", Double(base.userLaw.count), 1...10_000_000)),
            tenantExponent: try profile.number("tenant_zipf", base.tenantLaw.exponent, 0...10),
            userExponent: try profile.number("user_zipf", base.userLaw.exponent, 0...10))
        fleet.models = models.isEmpty ? base.models : models.keys.sorted().map { models[$0]! }
        fleet.canaryShare = try profile.number("canary_share", base.canaryShare, 0...1)
        fleet.errorRate = try profile.number("error_rate", base.errorRate, 0...1)
        fleet.timeoutRate = try profile.number("timeout_rate", base.timeoutRate, 0...1)
        guard fleet.errorRate + fleet.timeoutRate <= 1 else { throw ConfigError(field: "timeout_rate", "error_rate + timeout_rate exceeds 1") }
        fleet.refusalRate = try profile.number("refusal_rate", base.refusalRate, 0...1)
        fleet.escalationRate = try profile.number("escalation_rate", base.escalationRate, 0...1)
        fleet.taskSuccessRate = try profile.number("task_success_rate", base.taskSuccessRate, 0...1)
        fleet.safetyRate = try profile.number("safety_rate", base.safetyRate, 0...1)
        fleet.safetySeverityWeights = try profile.numbers("safety_severity_weights", base.safetySeverityWeights, count: 4, 0...1_000_000)
        guard fleet.safetySeverityWeights.reduce(0, +) > 0 else {
            throw ConfigError(field: "safety_severity_weights", "needs a positive weight (line \(profile.line("safety_severity_weights")))")
        }
        fleet.feedbackRate = try profile.number("feedback_rate", base.feedbackRate, 0...1)
        fleet.feedbackUpShare = try profile.number("feedback_up_share", base.feedbackUpShare, 0...1)
        fleet.categoryCount = Int(try profile.number("category_count", Double(base.categoryCount), 1...1_000))
        fleet.latencySigma = try profile.number("latency_sigma", base.latencySigma, 0...5)
        fleet.inputTokensMedian = try profile.number("input_tokens_median", base.inputTokensMedian, 1...1_000_000)
        fleet.inputTokensSigma = try profile.number("input_tokens_sigma", base.inputTokensSigma, 0...5)
        fleet.outputTokensMedian = try profile.number("output_tokens_median", base.outputTokensMedian, 1...1_000_000)
        fleet.outputTokensSigma = try profile.number("output_tokens_sigma", base.outputTokensSigma, 0...5)
        fleet.cachedInputShare = try profile.number("cached_input_share", base.cachedInputShare, 0...1)
        fleet.promptVersions = try profile.strings("prompt_versions", base.promptVersions, allowEmpty: false)
        fleet.routes = try profile.strings("routes", base.routes, allowEmpty: false)
        fleet.regions = try profile.strings("regions", base.regions, allowEmpty: true)
        fleet.languages = try profile.strings("languages", base.languages, allowEmpty: true)
        fleet.tiers = try profile.strings("tiers", base.tiers, allowEmpty: true)
        fleet.errorClasses = try profile.strings("error_classes", base.errorClasses, allowEmpty: false)
        let scenarios = try ScenarioProfile.scenarios(scenarioTables, in: profile, for: fleet)
        fleet.scenarios = scenarios.isEmpty ? base.scenarios : scenarios
        return fleet
    }
}
