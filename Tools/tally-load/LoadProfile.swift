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
    /// realistic cardinality.
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
        safety_rate = 0.002          # requests with a safety incident (random kind, severity low … critical)
        feedback_rate = 0.03         # requests with user feedback (80 % up)
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
    /// ``ConfigError`` naming the key on bad input.
    static func fleet(from text: String, over base: SyntheticFleet) throws(ConfigError) -> SyntheticFleet {
        let entries = try ConfigFile.parse(text)
        func number(_ key: String, _ fallback: Double, _ range: ClosedRange<Double>) throws(ConfigError) -> Double {
            guard let entry = entries[key] else { return fallback }
            let value: Double
            switch entry.value {
            case .integer(let i): value = Double(i)
            case .float(let f): value = f
            default: throw ConfigError(field: key, "expected a number (line \(entry.line))")
            }
            guard range.contains(value) else { throw ConfigError(field: key, "\(value) not in \(range.lowerBound) … \(range.upperBound)") }
            return value
        }
        func strings(_ key: String, _ fallback: [String], allowEmpty: Bool) throws(ConfigError) -> [String] {
            guard let entry = entries[key] else { return fallback }
            guard case .strings(let list) = entry.value else { throw ConfigError(field: key, "expected an array of strings") }
            if !allowEmpty && list.isEmpty { throw ConfigError(field: key, "needs at least one value") }
            if list.contains(where: { $0.isEmpty || $0.utf8.count > 255 }) { throw ConfigError(field: key, "values are 1 … 255 bytes") }
            return list
        }
        let known: Set<String> = [
            "tenants", "tenant_zipf", "users", "user_zipf", "canary_share", "error_rate", "timeout_rate", "safety_rate",
            "feedback_rate", "latency_sigma", "input_tokens_median", "input_tokens_sigma", "output_tokens_median",
            "output_tokens_sigma", "cached_input_share", "prompt_versions", "routes", "regions", "languages", "tiers",
            "error_classes",
        ]
        var models: [String: SyntheticFleet.Model] = [:]
        for (key, entry) in entries where !known.contains(key) {
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0] == "models", let dot = parts[1].lastIndex(of: ".") else {
                throw ConfigError(field: key, "unknown key (line \(entry.line); known: \(known.sorted().joined(separator: ", ")), models.<name>.versions|median_latency_ms)")
            }
            let name = String(parts[1][..<dot]), field = String(parts[1][parts[1].index(after: dot)...])
            var model = models[name] ?? SyntheticFleet.Model(name: name, versions: [], medianLatencyMicros: 0)
            switch field {
            case "versions": model.versions = try strings(key, [], allowEmpty: false)
            case "median_latency_ms": model.medianLatencyMicros = try number(key, 0, 0.001...600_000) * 1_000
            default: throw ConfigError(field: key, "a model has versions and median_latency_ms")
            }
            models[name] = model
        }
        for (name, model) in models where model.versions.isEmpty || model.medianLatencyMicros == 0 {
            throw ConfigError(field: "models.\(name)", "needs versions and median_latency_ms")
        }
        // Re-made from the (possibly new) population sizes; every other field follows.
        var fleet = SyntheticFleet(
            tenants: Int(try number("tenants", Double(base.tenants.count), 1...1_000_000)),
            users: Int(try number("users", Double(base.userLaw.count), 1...10_000_000)),
            tenantExponent: try number("tenant_zipf", base.tenantLaw.exponent, 0...10),
            userExponent: try number("user_zipf", base.userLaw.exponent, 0...10))
        fleet.models = models.isEmpty ? base.models : models.keys.sorted().map { models[$0]! }
        fleet.canaryShare = try number("canary_share", base.canaryShare, 0...1)
        fleet.errorRate = try number("error_rate", base.errorRate, 0...1)
        fleet.timeoutRate = try number("timeout_rate", base.timeoutRate, 0...1)
        guard fleet.errorRate + fleet.timeoutRate <= 1 else { throw ConfigError(field: "timeout_rate", "error_rate + timeout_rate exceeds 1") }
        fleet.safetyRate = try number("safety_rate", base.safetyRate, 0...1)
        fleet.feedbackRate = try number("feedback_rate", base.feedbackRate, 0...1)
        fleet.latencySigma = try number("latency_sigma", base.latencySigma, 0...5)
        fleet.inputTokensMedian = try number("input_tokens_median", base.inputTokensMedian, 1...1_000_000)
        fleet.inputTokensSigma = try number("input_tokens_sigma", base.inputTokensSigma, 0...5)
        fleet.outputTokensMedian = try number("output_tokens_median", base.outputTokensMedian, 1...1_000_000)
        fleet.outputTokensSigma = try number("output_tokens_sigma", base.outputTokensSigma, 0...5)
        fleet.cachedInputShare = try number("cached_input_share", base.cachedInputShare, 0...1)
        fleet.promptVersions = try strings("prompt_versions", base.promptVersions, allowEmpty: false)
        fleet.routes = try strings("routes", base.routes, allowEmpty: false)
        fleet.regions = try strings("regions", base.regions, allowEmpty: true)
        fleet.languages = try strings("languages", base.languages, allowEmpty: true)
        fleet.tiers = try strings("tiers", base.tiers, allowEmpty: true)
        fleet.errorClasses = try strings("error_classes", base.errorClasses, allowEmpty: false)
        return fleet
    }
}
