#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TallyWire

/// Generates realistic trace frames for a synthetic inference fleet: several models
/// and versions, a canary ring, Zipf-distributed tenants and users, lognormal
/// latencies, token counts, an error/timeout mix, an outcome mix (refusals,
/// escalations, task success), occasional safety incidents and feedback, input
/// categories; and ``scenarios``, scheduled faults on part of the traffic.
/// Deterministic for a given seed. Strings are drawn from fixed pools, so
/// frames reuse the same `String` values, as a real server does.
public struct SyntheticFleet: Sendable {
    public struct Model: Sendable {
        public var name: String
        public var versions: [String]
        /// Median total latency, in microseconds.
        public var medianLatencyMicros: Double

        public init(name: String, versions: [String], medianLatencyMicros: Double) {
            self.name = name
            self.versions = versions
            self.medianLatencyMicros = medianLatencyMicros
        }
    }

    public var models: [Model] = [
        Model(name: "llama-3.1-70b-instruct", versions: ["2024-07-23", "2024-10-02"], medianLatencyMicros: 900_000),
        Model(name: "llama-3.1-8b-instruct", versions: ["2024-07-23"], medianLatencyMicros: 250_000),
        Model(name: "mistral-large", versions: ["2407", "2411"], medianLatencyMicros: 1_200_000),
        Model(name: "qwen2.5-coder-32b", versions: ["v1"], medianLatencyMicros: 700_000),
    ]
    public var promptVersions = ["p-2024.10", "p-2024.11", "p-2024.12"]
    public var routes = ["chat", "summarize", "code", "extract", "agent"]
    /// Cohort tag pools besides the tenant; an empty pool leaves its tag out.
    public var regions = ["us-east", "us-west", "eu-central", "ap-south"]
    public var languages = ["en", "de", "fr", "es", "ja", "pt"]
    public var tiers = ["free", "pro", "enterprise"]
    public var errorClasses = ["oom", "upstream_5xx", "invalid_request", "content_filter"]
    /// Tenants, drawn with a Zipf law.
    public let tenants: [String]
    public let tenantLaw: ZipfDistribution
    /// Users, drawn with a Zipf law.
    public let userLaw: ZipfDistribution
    /// Share of requests served by the canary ring.
    public var canaryShare = 0.05
    public var errorRate = 0.02
    public var timeoutRate = 0.005
    /// Share of requests the model declines to answer.
    public var refusalRate = 0.01
    /// Share of requests handed off to a human or another system.
    public var escalationRate = 0.005
    /// Share of ok requests whose task succeeds (failed requests always fail theirs).
    public var taskSuccessRate = 0.9
    public var safetyRate = 0.002
    /// Relative weights of the severities low, medium, high and critical of a safety
    /// incident. Anything but 4 finite, non-negative weights with a positive sum
    /// draws the four uniformly, as the default does.
    public var safetySeverityWeights: [Double] = [1, 1, 1, 1]
    public var feedbackRate = 0.03
    /// Share of feedback that is thumbs-up (the rest is thumbs-down).
    public var feedbackUpShare = 0.8
    /// Input categories, drawn uniformly from 0 ..< n (1 … 1,000; other values are
    /// clamped). Scenarios shift categories to ids just beyond (``Scenario/Effects/categoryShift``).
    public var categoryCount = 32
    /// σ of the lognormal total latency around each model's median.
    public var latencySigma = 0.6
    /// Input and output tokens: lognormal medians and σ.
    public var inputTokensMedian = 800.0
    public var inputTokensSigma = 1.0
    public var outputTokensMedian = 300.0
    public var outputTokensSigma = 0.8
    /// Share of requests whose prompt is half served from the prompt cache.
    public var cachedInputShare = 0.3
    /// Scheduled faults, applied by ``frame(eventTimeMicros:elapsedSeconds:_:)`` (at most
    /// ``Scenario/maximumCount``; later ones are ignored).
    public var scenarios: [Scenario] = []

    /// - Parameters:
    ///   - tenants, users: population sizes (≥ 1), drawn with Zipf laws of the given exponents.
    public init(tenants: Int = 200, users: Int = 100_000, tenantExponent: Double = 1.1, userExponent: Double = 0.9) {
        self.tenants = (0..<tenants).map { "tenant-\($0)" }
        tenantLaw = ZipfDistribution(count: tenants, exponent: tenantExponent)
        userLaw = ZipfDistribution(count: users, exponent: userExponent)
    }

    /// One clean frame stamped `eventTimeMicros`: the fleet's traffic without its scenarios.
    public func frame(eventTimeMicros: UInt64, _ rng: inout SplitMix64) -> TraceFrame {
        var (frame, model) = dimensions(eventTimeMicros: eventTimeMicros, &rng)
        drawMeasures(into: &frame, model: models[model], effects: Scenario.Effects(), &rng)
        return frame
    }

    /// One frame stamped `eventTimeMicros`, `elapsedSeconds` after the run's start: drawn
    /// with the effects of the ``scenarios`` active then whose scope it is in; `nil`
    /// when one of them silences it. With no scenario active, the same frame (and the
    /// same draws) as ``frame(eventTimeMicros:_:)``.
    public func frame(eventTimeMicros: UInt64, elapsedSeconds: Double, _ rng: inout SplitMix64) -> TraceFrame? {
        var (frame, model) = dimensions(eventTimeMicros: eventTimeMicros, &rng)
        let (effects, _) = scenarioEffects(for: frame, elapsedSeconds: elapsedSeconds)
        if effects.silence { return nil }
        drawMeasures(into: &frame, model: models[model], effects: effects, &rng)
        return frame
    }

    /// Whether any scenario is on at `elapsedSeconds`: a time comparison per scenario,
    /// for callers that skip ``scenarioEffects(for:elapsedSeconds:)`` in clean periods.
    public func hasActiveScenario(atSecond elapsedSeconds: Double) -> Bool {
        scenarios.contains { $0.isActive(atSecond: elapsedSeconds) }
    }

    /// The combined effects of the scenarios active at `elapsedSeconds` whose scope
    /// `frame` is in (``Scenario/Effects/combine(_:)``), and which they are: bit i set =
    /// `scenarios[i]` matched. No scenario: no effects, mask 0. Allocates nothing.
    public func scenarioEffects(for frame: TraceFrame, elapsedSeconds: Double) -> (effects: Scenario.Effects, matched: UInt64) {
        var effects = Scenario.Effects()
        var matched: UInt64 = 0
        for index in 0..<min(scenarios.count, Scenario.maximumCount)
        where scenarios[index].isActive(atSecond: elapsedSeconds) && scenarios[index].scope.matches(frame) {
            effects.combine(scenarios[index].effects)
            matched |= 1 << UInt64(index)
        }
        return (effects, matched)
    }

    /// Who sent the request and where it went (model, version, prompt version, route,
    /// ring, tags, user and session); the measures are left at zero for
    /// ``drawMeasures(into:model:effects:_:)``. Returns the index of the model in ``models``.
    private func dimensions(eventTimeMicros: UInt64, _ rng: inout SplitMix64) -> (TraceFrame, model: Int) {
        let modelIndex = Int(rng.next() % UInt64(models.count))
        let model = models[modelIndex]
        let user = UInt64(userLaw.sample(&rng))
        let frame = TraceFrame(
            eventTimeMicros: eventTimeMicros,
            model: model.name,
            modelVersion: model.versions[Int(rng.next() % UInt64(model.versions.count))],
            promptVersion: promptVersions[Int(rng.next() % UInt64(promptVersions.count))],
            route: routes[Int(rng.next() % UInt64(routes.count))],
            ring: rng.unit() < canaryShare ? .canary : .stable,
            tags: cohortTags(&rng),
            totalLatencyMicros: 0,
            userHash: user &* 0x9E37_79B9_7F4A_7C15 | 1,
            sessionHash: (user << 20 | rng.next() % 8) &* 0xC2B2_AE3D_27D4_EB4F | 1
        )
        return (frame, modelIndex)
    }

    /// Draws what the request measured — latencies, tokens, status, outcome, safety,
    /// category — into `frame`, keeping its dimensions: the fleet's rates scaled by
    /// `effects` (rates clamped to 0 … 1). `model` is the frame's model (its median
    /// latency). Allocates nothing. How many values it draws depends only on the
    /// status, feedback and safety outcomes and a category shift, so latency and
    /// token effects leave the rest of a seeded sequence as it was.
    public func drawMeasures(into frame: inout TraceFrame, model: Model, effects: Scenario.Effects, _ rng: inout SplitMix64) {
        let latencyLaw = Distribution.lognormal(mu: log(model.medianLatencyMicros * effects.latencyMultiplier),
                                                sigma: latencySigma)
        let total = UInt32(min(latencyLaw.sample(&rng), 600_000_000))
        let queue = UInt32(Double(total) * 0.1 * rng.unit())
        let ttft = queue + UInt32(Double(total - queue) * (0.05 + 0.25 * rng.unit()))
        let input = UInt32(min(Distribution.lognormal(mu: log(inputTokensMedian), sigma: inputTokensSigma).sample(&rng),
                               4_000_000)) + 1
        let outputMedian = outputTokensMedian * effects.outputTokensMultiplier
        let output = UInt32(min(Distribution.lognormal(mu: log(outputMedian), sigma: outputTokensSigma).sample(&rng),
                                4_000_000)) + 1
        let errors = Self.rate(errorRate, effects.errorMultiplier)
        let timeouts = min(Self.rate(timeoutRate, effects.timeoutMultiplier), 1 - errors)
        let roll = rng.unit()
        let status: RequestStatus = roll < errors ? .error : roll < errors + timeouts ? .timeout : .ok
        frame.queueTimeMicros = queue
        frame.timeToFirstTokenMicros = status == .ok ? ttft : nil
        frame.totalLatencyMicros = total
        frame.inputTokens = input
        frame.outputTokens = status == .ok ? output : 0
        frame.cachedInputTokens = rng.unit() < cachedInputShare ? input / 2 : 0
        frame.status = status
        frame.errorClass = status == .error ? errorClasses[Int(rng.next() % UInt64(errorClasses.count))] : nil
        let categories = UInt64(min(max(categoryCount, 1), 1_000))
        var category = rng.next() % categories
        if effects.categoryShift > 0 && rng.unit() < effects.categoryShift {
            category = categories + rng.next() % UInt64(Scenario.shiftedCategoryCount)
        }
        frame.categoryID = UInt16(category)
        let outcomeRoll = rng.unit()
        let feedbackDown = Self.rate(1 - feedbackUpShare, effects.feedbackDownMultiplier)
        frame.outcome = OutcomeBits(
            refusal: outcomeRoll < Self.rate(refusalRate, effects.refusalMultiplier),
            escalation: outcomeRoll >= 1 - escalationRate,
            fallback: status != .ok && outcomeRoll < 0.5,
            task: status == .ok && rng.unit() < Self.rate(taskSuccessRate, effects.taskSuccessMultiplier) ? .success : .failure,
            feedback: rng.unit() < feedbackRate ? (rng.unit() < feedbackDown ? .down : .up) : .none)
        if rng.unit() < Self.rate(safetyRate, effects.safetyMultiplier) {
            frame.safetyKinds = SafetyKinds(rawValue: 1 << UInt16(rng.next() % 10))
            frame.safetySeverity = effects.safetySeverity ?? safetySeverity(&rng)
        } else {
            frame.safetyKinds = []
            frame.safetySeverity = .none
        }
    }

    /// `base × multiplier`, clamped to 0 … 1.
    private static func rate(_ base: Double, _ multiplier: Double) -> Double {
        min(max(base * multiplier, 0), 1)
    }

    /// A severity drawn by ``safetySeverityWeights``.
    private func safetySeverity(_ rng: inout SplitMix64) -> SafetySeverity {
        let weights = safetySeverityWeights
        let total = weights.count == 4 && weights.allSatisfy({ $0 >= 0 && $0.isFinite }) ? weights.reduce(0, +) : 0
        guard total > 0 else { return SafetySeverity(rawValue: UInt8(1 + rng.next() % 4))! }
        var left = rng.unit() * total
        var last = SafetySeverity.low
        for (index, weight) in weights.enumerated() where weight > 0 {
            last = SafetySeverity(rawValue: UInt8(index + 1))!
            if left < weight { return last }
            left -= weight
        }
        return last  // rounding at the top end
    }

    /// The tenant tag, then one tag from each non-empty pool (drawn in this order).
    private func cohortTags(_ rng: inout SplitMix64) -> [CohortTag] {
        var tags = [CohortTag("tenant", tenants[tenantLaw.sample(&rng)])]
        tags.reserveCapacity(4)
        for (key, pool) in [("region", regions), ("lang", languages), ("tier", tiers)] where !pool.isEmpty {
            tags.append(CohortTag(key, pool[Int(rng.next() % UInt64(pool.count))]))
        }
        return tags
    }
}
