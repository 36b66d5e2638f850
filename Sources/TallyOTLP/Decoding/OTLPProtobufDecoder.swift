/// Decodes an `ExportTraceServiceRequest` in the protobuf binary encoding (OTLP/HTTP
/// `Content-Type: application/x-protobuf`).
///
/// Field numbers are those of opentelemetry-proto (v1.x):
/// - `collector/trace/v1/trace_service.proto`: ExportTraceServiceRequest.resource_spans = 1.
/// - `trace/v1/trace.proto`: ResourceSpans.resource = 1, scope_spans = 2;
///   ScopeSpans.spans = 2; Span.name = 5, start_time_unix_nano = 7 (fixed64),
///   end_time_unix_nano = 8 (fixed64), attributes = 9, status = 15;
///   Status.message = 2, code = 3 (enum).
/// - `resource/v1/resource.proto`: Resource.attributes = 1.
/// - `common/v1/common.proto`: KeyValue.key = 1, value = 2; AnyValue.string_value = 1,
///   bool_value = 2, int_value = 3, double_value = 4, array_value = 5, kvlist_value = 6,
///   bytes_value = 7; ArrayValue.values = 1.
/// Every other field is skipped by its wire type. Bounds: ``OTLPDecodeLimits``.
public enum OTLPProtobufDecoder {
    /// - Throws: ``OTLPDecodeError`` for malformed bytes or a body past the limits.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(OTLPDecodeError) -> OTLPTraceRequest {
        var reader = ProtobufReader(bytes)
        var request = OTLPTraceRequest()
        var spanCount = 0
        while let (number, type) = try reader.nextField() {
            if number == 1 {
                try ProtobufReader.expect(type, .lengthDelimited, field: "resource_spans")
                var inner = try reader.message(reader.readLengthDelimited(), field: "resource_spans")
                request.resourceSpans.append(try resourceSpans(&inner, spanCount: &spanCount))
            } else {
                try reader.skip(type)
            }
        }
        return request
    }

    /// Decodes `bytes` (a convenience for tests and callers holding an array).
    public static func decode(_ bytes: [UInt8]) throws(OTLPDecodeError) -> OTLPTraceRequest {
        let result: Result<OTLPTraceRequest, OTLPDecodeError> = bytes.withUnsafeBytes { raw in
            Result { () throws(OTLPDecodeError) -> OTLPTraceRequest in try decode(raw) }
        }
        return try result.get()
    }

    static func resourceSpans(_ reader: inout ProtobufReader, spanCount: inout Int) throws(OTLPDecodeError) -> OTLPResourceSpans {
        var result = OTLPResourceSpans()
        while let (number, type) = try reader.nextField() {
            switch number {
            case 1:  // resource
                try ProtobufReader.expect(type, .lengthDelimited, field: "resource")
                var resource = try reader.message(reader.readLengthDelimited(), field: "resource")
                while let (field, fieldType) = try resource.nextField() {
                    if field == 1 {
                        try append(attributeFrom: &resource, type: fieldType, to: &result.resourceAttributes, field: "resource.attributes")
                    } else {
                        try resource.skip(fieldType)
                    }
                }
            case 2:  // scope_spans
                try ProtobufReader.expect(type, .lengthDelimited, field: "scope_spans")
                var scope = try reader.message(reader.readLengthDelimited(), field: "scope_spans")
                while let (field, fieldType) = try scope.nextField() {
                    if field == 2 {
                        try ProtobufReader.expect(fieldType, .lengthDelimited, field: "spans")
                        spanCount += 1
                        guard spanCount <= OTLPDecodeLimits.maxSpans else {
                            throw OTLPDecodeError(.overLimit, "more than \(OTLPDecodeLimits.maxSpans) spans in one request")
                        }
                        var span = try scope.message(scope.readLengthDelimited(), field: "span")
                        result.spans.append(try self.span(&span))
                    } else {
                        try scope.skip(fieldType)
                    }
                }
            default:
                try reader.skip(type)
            }
        }
        return result
    }

    static func span(_ reader: inout ProtobufReader) throws(OTLPDecodeError) -> OTLPSpan {
        var span = OTLPSpan()
        while let (number, type) = try reader.nextField() {
            switch number {
            case 5:
                try ProtobufReader.expect(type, .lengthDelimited, field: "span.name")
                span.name = try reader.readString(field: "span.name")
            case 7:
                try ProtobufReader.expect(type, .fixed64, field: "span.start_time_unix_nano")
                span.startTimeUnixNano = try reader.readFixed64()
            case 8:
                try ProtobufReader.expect(type, .fixed64, field: "span.end_time_unix_nano")
                span.endTimeUnixNano = try reader.readFixed64()
            case 9:
                try append(attributeFrom: &reader, type: type, to: &span.attributes, field: "span.attributes")
            case 15:
                try ProtobufReader.expect(type, .lengthDelimited, field: "span.status")
                var status = try reader.message(reader.readLengthDelimited(), field: "span.status")
                while let (field, fieldType) = try status.nextField() {
                    switch field {
                    case 2:
                        try ProtobufReader.expect(fieldType, .lengthDelimited, field: "status.message")
                        span.statusMessage = try status.readString(field: "status.message")
                    case 3:
                        try ProtobufReader.expect(fieldType, .varint, field: "status.code")
                        span.statusCode = Int64(bitPattern: try status.readVarint())
                    default:
                        try status.skip(fieldType)
                    }
                }
            default:
                try reader.skip(type)
            }
        }
        return span
    }

    /// Reads one `KeyValue` field and appends it, bounded by ``OTLPDecodeLimits/maxAttributes``.
    static func append(attributeFrom reader: inout ProtobufReader, type: ProtobufReader.WireType,
                       to attributes: inout [OTLPAttribute], field: StaticString) throws(OTLPDecodeError) {
        try ProtobufReader.expect(type, .lengthDelimited, field: field)
        guard attributes.count < OTLPDecodeLimits.maxAttributes else {
            throw OTLPDecodeError(.overLimit, "\(field): more than \(OTLPDecodeLimits.maxAttributes) attributes")
        }
        var keyValue = try reader.message(reader.readLengthDelimited(), field: field)
        var key = ""
        var value = OTLPValue.unsupported
        while let (number, fieldType) = try keyValue.nextField() {
            switch number {
            case 1:
                try ProtobufReader.expect(fieldType, .lengthDelimited, field: "key_value.key")
                key = try keyValue.readString(field: "key_value.key")
            case 2:
                try ProtobufReader.expect(fieldType, .lengthDelimited, field: "key_value.value")
                var inner = try keyValue.message(keyValue.readLengthDelimited(), field: "key_value.value")
                value = try anyValue(&inner)
            default:
                try keyValue.skip(fieldType)
            }
        }
        attributes.append(OTLPAttribute(key, value))
    }

    /// One `AnyValue`; the last value field set wins (protobuf's rule for a oneof).
    static func anyValue(_ reader: inout ProtobufReader) throws(OTLPDecodeError) -> OTLPValue {
        var value = OTLPValue.unsupported
        while let (number, type) = try reader.nextField() {
            switch number {
            case 1:
                try ProtobufReader.expect(type, .lengthDelimited, field: "any_value.string_value")
                value = .string(try reader.readString(field: "any_value.string_value"))
            case 2:
                try ProtobufReader.expect(type, .varint, field: "any_value.bool_value")
                value = .bool(try reader.readVarint() != 0)
            case 3:
                try ProtobufReader.expect(type, .varint, field: "any_value.int_value")
                value = .int(Int64(bitPattern: try reader.readVarint()))
            case 4:
                try ProtobufReader.expect(type, .fixed64, field: "any_value.double_value")
                value = .double(Double(bitPattern: try reader.readFixed64()))
            case 5:
                try ProtobufReader.expect(type, .lengthDelimited, field: "any_value.array_value")
                var array = try reader.message(reader.readLengthDelimited(), field: "any_value.array_value")
                var values: [OTLPValue] = []
                while let (field, fieldType) = try array.nextField() {
                    guard field == 1 else { try array.skip(fieldType); continue }
                    try ProtobufReader.expect(fieldType, .lengthDelimited, field: "array_value.values")
                    guard values.count < OTLPDecodeLimits.maxArrayValues else {
                        throw OTLPDecodeError(.overLimit, "array_value: more than \(OTLPDecodeLimits.maxArrayValues) values")
                    }
                    var element = try array.message(array.readLengthDelimited(), field: "array_value.values")
                    values.append(try anyValue(&element))
                }
                value = .array(values)
            case 6, 7:
                try ProtobufReader.expect(type, .lengthDelimited, field: "any_value")
                _ = try reader.readLengthDelimited()
                value = .unsupported
            default:
                try reader.skip(type)
            }
        }
        return value
    }
}
