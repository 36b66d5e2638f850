/// The parts of one OTLP span (`trace.v1.Span`) that the GenAI mapping reads.
public struct OTLPSpan: Sendable, Equatable {
    /// The span's name (e.g. `chat llama-3.1-8b`).
    public var name: String
    /// Start and end, in nanoseconds since the Unix epoch (0 = not set).
    public var startTimeUnixNano: UInt64
    public var endTimeUnixNano: UInt64
    public var attributes: [OTLPAttribute]
    /// `Status.code`: 0 unset, 1 ok, 2 error (other values are kept as sent).
    public var statusCode: Int64
    public var statusMessage: String

    public init(name: String = "", startTimeUnixNano: UInt64 = 0, endTimeUnixNano: UInt64 = 0,
                attributes: [OTLPAttribute] = [], statusCode: Int64 = 0, statusMessage: String = "") {
        self.name = name
        self.startTimeUnixNano = startTimeUnixNano
        self.endTimeUnixNano = endTimeUnixNano
        self.attributes = attributes
        self.statusCode = statusCode
        self.statusMessage = statusMessage
    }

    /// `Status.code` of an error.
    public static let statusError: Int64 = 2
}

/// The spans of one resource (`trace.v1.ResourceSpans`), scopes flattened: the
/// mapping does not read instrumentation scopes.
public struct OTLPResourceSpans: Sendable, Equatable {
    /// `resource.v1.Resource.attributes` (e.g. `service.name`, `service.version`).
    public var resourceAttributes: [OTLPAttribute]
    public var spans: [OTLPSpan]

    public init(resourceAttributes: [OTLPAttribute] = [], spans: [OTLPSpan] = []) {
        self.resourceAttributes = resourceAttributes
        self.spans = spans
    }
}

/// A decoded `collector.trace.v1.ExportTraceServiceRequest`.
public struct OTLPTraceRequest: Sendable, Equatable {
    public var resourceSpans: [OTLPResourceSpans]
    public init(resourceSpans: [OTLPResourceSpans] = []) { self.resourceSpans = resourceSpans }

    /// Spans over every resource.
    public var spanCount: Int { resourceSpans.reduce(0) { $0 + $1.spans.count } }
}
