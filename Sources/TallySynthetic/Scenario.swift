import TallyWire

/// A scheduled fault in a ``SyntheticFleet``: from ``startSeconds`` to ``endSeconds``
/// (seconds since the run's start, as the caller measures it), the frames its
/// ``scope`` matches are drawn with its ``effects`` — slower, more errors, a new
/// input category, or not produced at all.
///
/// A value type the fleet holds in ``SyntheticFleet/scenarios`` (at most
/// ``maximumCount``); checking one against a frame compares a time and a few strings
/// and allocates nothing.
public struct Scenario: Sendable, Hashable {
    /// Scenarios a fleet applies at most: matches are reported as a 64-bit mask of
    /// scenario indices, and later scenarios are ignored.
    public static let maximumCount = 64
    /// New category ids a ``Effects/categoryShift`` draws from: `categoryCount ..< categoryCount + 4`.
    public static let shiftedCategoryCount = 4

    /// Which frames a scenario applies to: a frame matches when every given field
    /// matches (`nil` = any); the empty scope matches every frame.
    public struct Scope: Sendable, Hashable {
        public var model: String?
        /// Model version, compared with ``TraceFrame/modelVersion``.
        public var version: String?
        public var ring: DeploymentRing?
        public var route: String?
        public var promptVersion: String?
        /// A cohort tag the frame must carry with this exact value, e.g. `lang=de`.
        public var tag: CohortTag?

        public init(model: String? = nil, version: String? = nil, ring: DeploymentRing? = nil, route: String? = nil,
                    promptVersion: String? = nil, tag: CohortTag? = nil) {
            self.model = model
            self.version = version
            self.ring = ring
            self.route = route
            self.promptVersion = promptVersion
            self.tag = tag
        }

        /// Whether `frame` is in the scope. Allocates nothing.
        public func matches(_ frame: TraceFrame) -> Bool {
            if let model, frame.model != model { return false }
            if let version, frame.modelVersion != version { return false }
            if let ring, frame.ring != ring { return false }
            if let route, frame.route != route { return false }
            if let promptVersion, frame.promptVersion != promptVersion { return false }
            if let tag, !frame.tags.contains(tag) { return false }
            return true
        }

        /// `model=…, ring=canary`, in the profile's key names; `all frames` when empty.
        public var description: String {
            let parts: [String?] = [
                model.map { "model=\($0)" }, version.map { "version=\($0)" }, ring.map { "ring=\($0.name)" },
                route.map { "route=\($0)" }, promptVersion.map { "prompt_version=\($0)" },
                tag.map { "tag=\($0.key)=\($0.value)" },
            ]
            let given = parts.compactMap { $0 }
            return given.isEmpty ? "all frames" : given.joined(separator: ", ")
        }
    }

    /// How a scenario changes the frames it matches. Multipliers are ≥ 0 (1 = no
    /// change); the rates they scale are clamped to 0 … 1 when drawn.
    public struct Effects: Sendable, Hashable {
        /// Scales the median total latency, so queue time and TTFT (shares of it) too.
        public var latencyMultiplier = 1.0
        /// Scales the error rate.
        public var errorMultiplier = 1.0
        /// Scales the timeout rate (error and timeout rates together are capped at 1).
        public var timeoutMultiplier = 1.0
        public var refusalMultiplier = 1.0
        /// Scales the median output tokens.
        public var outputTokensMultiplier = 1.0
        /// Scales the safety incident rate.
        public var safetyMultiplier = 1.0
        /// The severity of every safety incident drawn; `nil` = the fleet's severity weights.
        public var safetySeverity: SafetySeverity?
        /// Scales the share of ok requests whose task succeeds.
        public var taskSuccessMultiplier = 1.0
        /// Scales the share of feedback that is thumbs-down.
        public var feedbackDownMultiplier = 1.0
        /// Share (0 … 1) of frames whose category is replaced by one of
        /// ``Scenario/shiftedCategoryCount`` ids just beyond the fleet's `categoryCount`.
        public var categoryShift = 0.0
        /// Matching frames are not produced at all.
        public var silence = false

        public init() {}

        /// Folds `other` in, for a frame several scenarios match: multipliers multiply,
        /// the larger category shift and the later forced severity win, any silence silences.
        public mutating func combine(_ other: Effects) {
            latencyMultiplier *= other.latencyMultiplier
            errorMultiplier *= other.errorMultiplier
            timeoutMultiplier *= other.timeoutMultiplier
            refusalMultiplier *= other.refusalMultiplier
            outputTokensMultiplier *= other.outputTokensMultiplier
            safetyMultiplier *= other.safetyMultiplier
            safetySeverity = other.safetySeverity ?? safetySeverity
            taskSuccessMultiplier *= other.taskSuccessMultiplier
            feedbackDownMultiplier *= other.feedbackDownMultiplier
            categoryShift = max(categoryShift, other.categoryShift)
            silence = silence || other.silence
        }

        /// `latency ×3, error ×8`, the effects that change anything; `no change` when none.
        public var description: String {
            let multipliers: [(String, Double)] = [
                ("latency", latencyMultiplier), ("error", errorMultiplier), ("timeout", timeoutMultiplier),
                ("refusal", refusalMultiplier), ("output tokens", outputTokensMultiplier), ("safety", safetyMultiplier),
                ("task success", taskSuccessMultiplier), ("feedback down", feedbackDownMultiplier),
            ]
            var parts = multipliers.filter { $0.1 != 1 }.map { "\($0.0) ×\(Self.format($0.1))" }
            if let safetySeverity { parts.append("safety severity \(safetySeverity.name)") }
            if categoryShift > 0 { parts.append("category shift \(Self.format(categoryShift))") }
            if silence { parts.append("silence") }
            return parts.isEmpty ? "no change" : parts.joined(separator: ", ")
        }

        /// `3` for 3.0, `0.25` for 0.25.
        private static func format(_ value: Double) -> String {
            value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        }
    }

    /// Names the scenario in tally-load's messages and report.
    public var name: String
    /// Seconds since the run's start when it begins (≥ 0).
    public var startSeconds: Double
    /// Seconds since the run's start when it ends (> ``startSeconds``); `.infinity` =
    /// until the run ends.
    public var endSeconds: Double
    public var scope: Scope
    public var effects: Effects

    public init(name: String, startSeconds: Double = 0, endSeconds: Double = .infinity, scope: Scope = Scope(),
                effects: Effects = Effects()) {
        self.name = name
        self.startSeconds = startSeconds
        self.endSeconds = endSeconds
        self.scope = scope
        self.effects = effects
    }

    /// Whether the scenario is on at `elapsedSeconds` since the run's start: from
    /// ``startSeconds`` inclusive to ``endSeconds`` exclusive.
    @inlinable
    public func isActive(atSecond elapsedSeconds: Double) -> Bool {
        elapsedSeconds >= startSeconds && elapsedSeconds < endSeconds
    }

    /// `(model=…, ring=canary: latency ×3)`.
    public var summary: String { "(\(scope.description): \(effects.description))" }
}
