/// Which span or resource attributes give the frame's dimensions that OpenTelemetry's
/// GenAI conventions do not define (model version, ring, route, cohort tags, user).
/// Each attribute is looked up on the span first, then on its resource.
public struct GenAIMappingConfiguration: Sendable, Equatable {
    /// One cohort tag: frame tag `key` takes the value of attribute `attribute`.
    public struct TagSource: Sendable, Equatable {
        public var key: String
        public var attribute: String
        public init(key: String, attribute: String) {
            self.key = key
            self.attribute = attribute
        }
    }

    /// Model version (`otlp_version_attribute`); "" = none.
    public var versionAttribute = "service.version"
    /// Ring (`otlp_ring_attribute`): values `stable`, `canary`, `shadow`; absent = stable; "" = always stable.
    public var ringAttribute = "tally.ring"
    /// Route (`otlp_route_attribute`); "" = none.
    public var routeAttribute = "gen_ai.operation.name"
    /// Prompt version (`otlp_prompt_version_attribute`); "" = none.
    public var promptVersionAttribute = ""
    /// User id, hashed (`otlp_user_attribute`); "" = none.
    public var userAttribute = "user.id"
    /// Cohort tags (`otlp_tag_attributes`, entries `key=attribute`), at most 8, distinct keys.
    public var tags = [TagSource(key: "provider", attribute: GenAIAttributes.providerName)]
    /// Prepended to user and conversation ids before hashing (FORMAT.md, "Identifier hash").
    public var idSecret = ""

    public init() {}

    /// Parses `key=attribute` entries (the `otlp_tag_attributes` setting).
    /// - Throws: a message naming the bad entry (no `=`, empty side, duplicate key, more than 8).
    public static func parseTags(_ entries: [String]) throws(GenAIMappingConfigurationError) -> [TagSource] {
        var result: [TagSource] = []
        for entry in entries {
            guard let equals = entry.firstIndex(of: "=") else {
                throw GenAIMappingConfigurationError(message: "\(entry): expected key=attribute, e.g. tenant=tenant.id")
            }
            let key = String(entry[..<equals]), attribute = String(entry[entry.index(after: equals)...])
            guard !key.isEmpty, key.utf8.count <= 255, !attribute.isEmpty else {
                throw GenAIMappingConfigurationError(message: "\(entry): key (1 … 255 bytes) and attribute must not be empty")
            }
            guard !result.contains(where: { $0.key == key }) else {
                throw GenAIMappingConfigurationError(message: "\(entry): tag key \(key) given twice")
            }
            result.append(TagSource(key: key, attribute: attribute))
        }
        guard result.count <= 8 else {
            throw GenAIMappingConfigurationError(message: "\(result.count) tags; a frame carries at most 8")
        }
        return result
    }
}

public struct GenAIMappingConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
