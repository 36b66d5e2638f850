import TallyConfig
import TallyWire

extension Policy {
    /// The default policy (``defaultText``).
    public static let standard: Policy = {
        do {
            return try Policy(parsing: defaultText, over: .empty)
        } catch {
            fatalError("the default policy does not parse: \(error)")  // a test parses it
        }
    }()

    /// A policy judging nothing: no thresholds, SLOs or gaps (the base of ``standard``).
    public static let empty = Policy(
        scopeKinds: [.fleet], cohortKeys: [], spans: [], spanBlocks: 12, alerts: AlertSettings(), thresholds: [:], slos: [],
        drift: DriftSettings(), fairness: FairnessSettings(), canary: CanarySettings())

    /// A policy file's text read over the default policy.
    /// - Throws: ``ConfigError`` naming the key, its line and what is wrong.
    public init(file text: String) throws(ConfigError) {
        self = try Policy(parsing: text, over: .standard)
    }

    /// `text` applied over `base`, key by key in line order, then validated.
    public init(parsing text: String, over base: Policy) throws(ConfigError) {
        self = base
        let entries = try ConfigFile.parse(text).sorted { $0.value.line < $1.value.line }
        for (key, entry) in entries {
            var reader = PolicyValue(key: key, value: entry.value, line: entry.line)
            try apply(key.split(separator: ".").map(String.init), &reader)
        }
        try validate()
    }

    private mutating func apply(_ path: [String], _ v: inout PolicyValue) throws(ConfigError) {
        switch (path.first ?? "", path.count) {
        case ("index", 2):
            switch path[1] {
            case "scopes": scopeKinds = try v.scopeKinds()
            case "cohort_keys": cohortKeys = try v.strings()
            case "spans": spans = try v.strings().map { (s) throws(ConfigError) in SpanSpec(name: s, seconds: try v.duration(s)) }
            case "span_blocks": spanBlocks = try v.integer(1...1_000)
            default: throw v.unknown(["scopes", "cohort_keys", "spans", "span_blocks"])
            }
        case ("alerts", 2):
            switch path[1] {
            case "firing_after_windows": alerts.firingAfterWindows = try v.integer(1...10_000)
            case "resolved_after_windows": alerts.resolvedAfterWindows = try v.integer(1...10_000)
            case "no_data_after_windows": alerts.noDataAfterWindows = try v.integer(1...10_000)
            case "no_data_min_requests": alerts.noDataMinRequests = UInt64(try v.integer(0...1_000_000_000))
            case "no_data_scopes": alerts.noDataScopeKinds = try v.scopeKinds()
            case "kpi_scopes": alerts.kpiScopeKinds = try v.scopeKinds(allowingCohort: true)
            default: throw v.unknown(["firing_after_windows", "resolved_after_windows", "no_data_after_windows",
                                      "no_data_min_requests", "no_data_scopes", "kpi_scopes"])
            }
        case ("kpis", 3):
            guard let kpi = KPI(rawValue: path[1]) else {
                throw v.error("unknown KPI '\(path[1])' (known: \(KPI.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            var t = thresholds[kpi] ?? Threshold(higherIsWorse: kpi.higherIsWorse, green: .nan, yellow: .nan, minRequests: 200)
            switch path[2] {
            case "enabled":
                if try !v.boolean() { thresholds[kpi] = nil; return }
            case "direction": t.higherIsWorse = try v.choice(["higher_is_worse", "lower_is_worse"]) == "higher_is_worse"
            case "green": t.green = try v.number()
            case "yellow": t.yellow = try v.number()
            case "min_requests": t.minRequests = UInt64(try v.integer(1...1_000_000_000))
            case "owner": t.owner = try v.string()
            case "alert":
                let choice = try v.choice(["red", "yellow", "none"])
                t.alertOn = choice == "none" ? nil : Light(rawValue: choice)
            case let key where key.hasPrefix("action_"):
                guard let light = Light(rawValue: String(key.dropFirst("action_".count))), light != .none else {
                    throw v.error("action_green, action_yellow, action_red or action_insufficient_data")
                }
                t.actions[light] = try v.string()
            default: throw v.unknown(["enabled", "direction", "green", "yellow", "min_requests", "owner", "alert", "action_<light>"])
            }
            thresholds[kpi] = t
        case ("slos", 3):
            var slo = slos.first { $0.name == path[1] } ?? SLO(name: path[1], objective: .nan, badStatuses: [.error, .timeout],
                                                              scopeKinds: [.fleet], rules: [])
            switch path[2] {
            case "enabled":
                if try !v.boolean() { slos.removeAll { $0.name == path[1] }; return }
            case "objective": slo.objective = try v.number(0.5...0.999999)
            case "bad_statuses":
                slo.badStatuses = try v.strings().map { (name) throws(ConfigError) in
                    guard let status = RequestStatus.allCases.first(where: { $0.name == name }), status != .ok else {
                        throw v.error("'\(name)' is not a failing status (error, timeout, rate_limited, cancelled, other)")
                    }
                    return status
                }
            case "scopes": slo.scopeKinds = try v.scopeKinds()
            default: throw v.unknown(["enabled", "objective", "bad_statuses", "scopes", "<rule>.burn_rate|long_windows|short_windows|severity"])
            }
            upsert(slo)
        case ("slos", 4):
            var slo = slos.first { $0.name == path[1] } ?? SLO(name: path[1], objective: .nan, badStatuses: [.error, .timeout],
                                                              scopeKinds: [.fleet], rules: [])
            var rule = slo.rules.first { $0.name == path[2] } ?? BurnRule(name: path[2], burnRate: .nan, longWindows: 0,
                                                                        shortWindows: 0, severity: "page")
            switch path[3] {
            case "enabled":
                if try !v.boolean() { slo.rules.removeAll { $0.name == path[2] }; upsert(slo); return }
            case "burn_rate": rule.burnRate = try v.number(0.01...1_000)
            case "long_windows": rule.longWindows = try v.integer(1...1_000_000)
            case "short_windows": rule.shortWindows = try v.integer(1...1_000_000)
            case "severity": rule.severity = try v.choice(["page", "ticket"])
            default: throw v.unknown(["enabled", "burn_rate", "long_windows", "short_windows", "severity"])
            }
            if let i = slo.rules.firstIndex(where: { $0.name == rule.name }) { slo.rules[i] = rule } else { slo.rules.append(rule) }
            upsert(slo)
        case ("drift", 2):
            switch path[1] {
            case "baseline":
                drift.baseline = DriftSettings.Baseline(rawValue: try v.choice(["first", "previous", "pinned"]))!
            case "baseline_windows": drift.baselineWindows = try v.integer(1...1_000_000)
            case "span": drift.span = try v.string()
            case "scopes": drift.scopeKinds = try v.scopeKinds()
            case "min_requests": drift.minRequests = UInt64(try v.integer(1...1_000_000_000))
            case "bins": drift.bins = try v.integer(2...100)
            case "psi_yellow": drift.psi.yellow = try v.number(0...100)
            case "psi_red": drift.psi.red = try v.number(0...100)
            case "ks_yellow": drift.ks.yellow = try v.number(0...1)
            case "ks_red": drift.ks.red = try v.number(0...1)
            case "wasserstein_yellow": drift.wasserstein.yellow = try v.number(0...1_000)
            case "wasserstein_red": drift.wasserstein.red = try v.number(0...1_000)
            case "js_yellow": drift.jensenShannon.yellow = try v.number(0...1)
            case "js_red": drift.jensenShannon.red = try v.number(0...1)
            case "outcome_alpha": drift.outcomeAlpha = try v.number(1e-12...0.5)
            case "outcome_min_effect": drift.outcomeMinEffect = try v.number(0...1)
            default: throw v.unknown(["baseline", "baseline_windows", "span", "scopes", "min_requests", "bins",
                                      "psi_yellow", "psi_red", "ks_yellow", "ks_red", "wasserstein_yellow", "wasserstein_red",
                                      "js_yellow", "js_red", "outcome_alpha", "outcome_min_effect"])
            }
        case ("fairness", 2):
            switch path[1] {
            case "keys": fairness.keys = try v.strings()
            case "min_requests": fairness.minRequests = UInt64(try v.integer(1...1_000_000_000))
            case "alpha": fairness.alpha = try v.number(1e-12...0.5)
            default: throw v.unknown(["keys", "min_requests", "alpha", "gaps.<kpi>.measure|yellow|red"])
            }
        case ("fairness", 4) where path[1] == "gaps":
            guard let kpi = KPI(rawValue: path[2]), FairnessEvaluator.comparable.contains(kpi) else {
                throw v.error("fairness compares \(FairnessEvaluator.comparable.map(\.rawValue).joined(separator: ", "))")
            }
            var gap = fairness.gaps[kpi] ?? FairnessSettings.Gap(ratio: false, boundaries: Boundaries(yellow: .nan, red: .nan))
            switch path[3] {
            case "enabled":
                if try !v.boolean() { fairness.gaps[kpi] = nil; return }
            case "measure": gap.ratio = try v.choice(["difference", "ratio"]) == "ratio"
            case "yellow": gap.boundaries.yellow = try v.number(0...1_000)
            case "red": gap.boundaries.red = try v.number(0...1_000)
            default: throw v.unknown(["enabled", "measure", "yellow", "red"])
            }
            fairness.gaps[kpi] = gap
        case ("canary", 2):
            switch path[1] {
            case "kpis":
                canary.kpis = try v.strings().map { (name) throws(ConfigError) in
                    guard let kpi = KPI(rawValue: name), CanaryEvaluator.comparable.contains(kpi) else {
                        throw v.error("canary compares \(CanaryEvaluator.comparable.map(\.rawValue).joined(separator: ", ")), not '\(name)'")
                    }
                    return kpi
                }
            case "min_requests": canary.minRequests = UInt64(try v.integer(1...1_000_000_000))
            case "alpha": canary.alpha = try v.number(1e-12...0.5)
            case "rate_tolerance": canary.rateTolerance = try v.number(0...1)
            case "relative_tolerance": canary.relativeTolerance = try v.number(0...100)
            default: throw v.unknown(["kpis", "min_requests", "alpha", "rate_tolerance", "relative_tolerance"])
            }
        default:
            throw v.error("unknown key (tables: [index], [alerts], [kpis.<kpi>], [slos.<name>], [slos.<name>.<rule>], [drift], [fairness], [fairness.gaps.<kpi>], [canary])")
        }
    }

    private mutating func upsert(_ slo: SLO) {
        if let i = slos.firstIndex(where: { $0.name == slo.name }) { slos[i] = slo } else { slos.append(slo) }
    }

    /// Checks what single keys cannot: complete thresholds in a consistent order, complete SLO rules.
    public func validate() throws(ConfigError) {
        for (kpi, t) in thresholds {
            let field = "kpis.\(kpi.rawValue)"
            guard t.green.isFinite, t.yellow.isFinite else { throw ConfigError(field: field, "needs green and yellow") }
            if t.higherIsWorse && t.green > t.yellow {
                throw ConfigError(field: field, "higher_is_worse needs green ≤ yellow (\(t.green) > \(t.yellow))")
            }
            if !t.higherIsWorse && t.green < t.yellow {
                throw ConfigError(field: field, "lower_is_worse needs green ≥ yellow (\(t.green) < \(t.yellow))")
            }
        }
        for slo in slos {
            guard slo.objective.isFinite else { throw ConfigError(field: "slos.\(slo.name).objective", "missing") }
            guard !slo.rules.isEmpty else { throw ConfigError(field: "slos.\(slo.name)", "needs at least one rule table") }
            for rule in slo.rules {
                let field = "slos.\(slo.name).\(rule.name)"
                guard rule.burnRate.isFinite, rule.longWindows > 0, rule.shortWindows > 0 else {
                    throw ConfigError(field: field, "needs burn_rate, long_windows and short_windows")
                }
                guard rule.shortWindows <= rule.longWindows else {
                    throw ConfigError(field: field, "short_windows \(rule.shortWindows) exceeds long_windows \(rule.longWindows)")
                }
            }
        }
        for (kpi, gap) in fairness.gaps {
            guard gap.boundaries.yellow.isFinite, gap.boundaries.red.isFinite, gap.boundaries.yellow <= gap.boundaries.red else {
                throw ConfigError(field: "fairness.gaps.\(kpi.rawValue)", "needs yellow ≤ red")
            }
        }
        for (name, b) in [("psi", drift.psi), ("ks", drift.ks), ("wasserstein", drift.wasserstein), ("js", drift.jensenShannon)]
        where b.yellow > b.red {
            throw ConfigError(field: "drift.\(name)_yellow", "exceeds \(name)_red")
        }
        if drift.span != "window" && !spans.contains(where: { $0.name == drift.span }) {
            throw ConfigError(field: "drift.span", "'\(drift.span)' is neither window nor a span of index.spans")
        }
        if Set(spans.map(\.name)).count != spans.count { throw ConfigError(field: "index.spans", "a span is listed twice") }
    }

    /// The cohort keys fairness compares.
    public var fairnessKeys: [String] { fairness.keys.isEmpty ? cohortKeys : fairness.keys }
}

/// One policy entry being read: typed accessors that throw a ``ConfigError``
/// naming the key and line.
struct PolicyValue {
    let key: String
    let value: ConfigValue
    let line: Int

    func error(_ message: String) -> ConfigError { ConfigError(field: key, "\(message) (line \(line))") }
    func unknown(_ known: [String]) -> ConfigError { error("unknown key; known here: \(known.joined(separator: ", "))") }

    func number(_ range: ClosedRange<Double> = -1e15...1e15) throws(ConfigError) -> Double {
        let n: Double
        switch value {
        case .integer(let i): n = Double(i)
        case .float(let f): n = f
        default: throw error("expected a number")
        }
        guard range.contains(n) else { throw error("\(n) not in \(range.lowerBound) … \(range.upperBound)") }
        return n
    }
    func integer(_ range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case .integer(let i) = value else { throw error("expected an integer") }
        guard range.contains(i) else { throw error("\(i) not in \(range.lowerBound) … \(range.upperBound)") }
        return i
    }
    func string() throws(ConfigError) -> String {
        guard case .string(let s) = value else { throw error("expected a quoted string") }
        return s
    }
    func boolean() throws(ConfigError) -> Bool {
        guard case .boolean(let b) = value else { throw error("expected true or false") }
        return b
    }
    func strings() throws(ConfigError) -> [String] {
        guard case .strings(let list) = value else { throw error("expected an array of strings") }
        return list
    }
    func choice(_ options: [String]) throws(ConfigError) -> String {
        let s = try string()
        guard options.contains(s) else { throw error("'\(s)' is not one of \(options.joined(separator: ", "))") }
        return s
    }
    func scopeKinds(allowingCohort: Bool = false) throws(ConfigError) -> [Scope.Kind] {
        try strings().map { (name) throws(ConfigError) in
            guard let kind = Scope.Kind(rawValue: name), kind != .cohort || allowingCohort else {
                throw error("unknown scope '\(name)' (fleet, model, model_version, prompt_version, route, ring, model_ring; cohorts come from cohort_keys)")
            }
            return kind
        }
    }
    /// `90s`, `5m`, `1h`, `7d` → seconds.
    func duration(_ text: String) throws(ConfigError) -> Int {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
        guard let unit = text.last, let factor = units[unit], let n = Int(text.dropLast()), n > 0, n <= 366 * 86_400 / factor else {
            throw error("'\(text)' is not a duration like 90s, 5m, 1h or 7d")
        }
        return n * factor
    }
}
