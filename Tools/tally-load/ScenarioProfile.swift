import TallyDaemon
import TallySynthetic
import TallyWire

/// The `[scenarios."name"]` tables of a profile: one ``Scenario`` each, with its
/// time range (`start_s`, `end_s`: seconds since tally-load started, warm-up
/// included), scope and effects (``keys``). Scope values must name what the fleet
/// draws (a model, version, route, prompt version or tag value of the profile), so
/// a typo is an error rather than a scenario that never matches.
enum ScenarioProfile {
    /// The keys of a scenario table.
    static let keys = [
        "start_s", "end_s", "model", "version", "ring", "route", "prompt_version", "tag", "latency_multiplier",
        "error_multiplier", "timeout_multiplier", "refusal_multiplier", "output_tokens_multiplier", "safety_multiplier",
        "safety_severity", "task_success_multiplier", "feedback_down_multiplier", "category_shift", "silence",
    ]
    /// Bounds of every `*_multiplier`.
    static let multipliers: ClosedRange<Double> = 0...1_000
    /// Bounds of `start_s` and `end_s` (about 31 years).
    static let seconds: ClosedRange<Double> = 0...1e9

    /// The scenarios of `tables` (``ProfileEntries/tables(_:)`` of `scenarios`), ordered
    /// by start time then name; scope values are checked against `fleet`. Throws a
    /// ``ConfigError`` naming the key and line of the first bad value.
    static func scenarios(_ tables: [String: [String]], in profile: ProfileEntries,
                          for fleet: SyntheticFleet) throws(ConfigError) -> [Scenario] {
        guard tables.count <= Scenario.maximumCount else {
            throw ConfigError(field: "scenarios", "at most \(Scenario.maximumCount) scenarios (\(tables.count) given)")
        }
        var result: [Scenario] = []
        for (name, fields) in tables {
            result.append(try scenario(name, fields, in: profile, for: fleet))
        }
        return result.sorted { ($0.startSeconds, $0.name) < ($1.startSeconds, $1.name) }
    }

    private static func scenario(_ name: String, _ fields: [String], in profile: ProfileEntries,
                                 for fleet: SyntheticFleet) throws(ConfigError) -> Scenario {
        let prefix = "scenarios.\(name)."
        if let field = fields.first(where: { !keys.contains($0) }) {
            throw ConfigError(field: prefix + field, "unknown key (line \(profile.line(prefix + field)); a scenario has \(keys.joined(separator: ", ")))")
        }
        var scenario = Scenario(name: name)
        scenario.startSeconds = try profile.number(prefix + "start_s", 0, seconds)
        scenario.endSeconds = try profile.number(prefix + "end_s", .infinity, seconds)
        guard scenario.endSeconds > scenario.startSeconds else {
            throw ConfigError(field: prefix + "end_s", "must be after start_s (line \(profile.line(prefix + "end_s")))")
        }

        func member(_ key: String, of pool: [String]) throws(ConfigError) -> String? {
            guard let value = try profile.string(prefix + key) else { return nil }
            guard pool.contains(value) else {
                throw ConfigError(field: prefix + key, "\(value) is not in the fleet (line \(profile.line(prefix + key)); known: \(pool.joined(separator: ", ")))")
            }
            return value
        }
        var scope = Scenario.Scope()
        scope.model = try member("model", of: fleet.models.map(\.name))
        let versions = fleet.models.filter { scope.model == nil || $0.name == scope.model }.flatMap(\.versions)
        scope.version = try member("version", of: versions)
        if let ring = try member("ring", of: ["stable", "canary"]) { scope.ring = ring == "canary" ? .canary : .stable }
        scope.route = try member("route", of: fleet.routes)
        scope.promptVersion = try member("prompt_version", of: fleet.promptVersions)
        scope.tag = try tag(prefix + "tag", in: profile, for: fleet)
        scenario.scope = scope

        var effects = Scenario.Effects()
        effects.latencyMultiplier = try profile.number(prefix + "latency_multiplier", 1, multipliers)
        effects.errorMultiplier = try profile.number(prefix + "error_multiplier", 1, multipliers)
        effects.timeoutMultiplier = try profile.number(prefix + "timeout_multiplier", 1, multipliers)
        effects.refusalMultiplier = try profile.number(prefix + "refusal_multiplier", 1, multipliers)
        effects.outputTokensMultiplier = try profile.number(prefix + "output_tokens_multiplier", 1, multipliers)
        effects.safetyMultiplier = try profile.number(prefix + "safety_multiplier", 1, multipliers)
        effects.taskSuccessMultiplier = try profile.number(prefix + "task_success_multiplier", 1, multipliers)
        effects.feedbackDownMultiplier = try profile.number(prefix + "feedback_down_multiplier", 1, multipliers)
        effects.categoryShift = try profile.number(prefix + "category_shift", 0, 0...1)
        effects.silence = try profile.boolean(prefix + "silence", false)
        let severities: [SafetySeverity] = [.low, .medium, .high, .critical]
        if let severity = try member("safety_severity", of: severities.map(\.name)) {
            effects.safetySeverity = severities.first { $0.name == severity }
        }
        scenario.effects = effects
        return scenario
    }

    /// `tag = "key=value"`: a tag pool of the fleet (tenant, region, lang, tier) and one of its values.
    private static func tag(_ key: String, in profile: ProfileEntries, for fleet: SyntheticFleet) throws(ConfigError) -> CohortTag? {
        guard let text = try profile.string(key) else { return nil }
        let pools = [("tenant", fleet.tenants), ("region", fleet.regions), ("lang", fleet.languages), ("tier", fleet.tiers)]
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let pool = pools.first(where: { $0.0 == parts[0] && !$0.1.isEmpty })?.1 else {
            let known = pools.filter { !$0.1.isEmpty }.map(\.0).joined(separator: ", ")
            throw ConfigError(field: key, "\(text) is not key=value with a key of the fleet (line \(profile.line(key)); keys: \(known))")
        }
        guard pool.contains(parts[1]) else {
            throw ConfigError(field: key, "\(parts[1]) is not a value of \(parts[0]) in the fleet (line \(profile.line(key)))")
        }
        return CohortTag(parts[0], parts[1])
    }
}
