/// Hand-built protobuf bytes for the tests: tags, varints, fixed64 and nested
/// messages written field by field from the OTLP proto's field numbers, independent of
/// the decoder under test.
struct ProtobufBuilder {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func tag(_ field: UInt64, _ wireType: UInt64) { varint(field << 3 | wireType) }

    mutating func varintField(_ field: UInt64, _ value: UInt64) {
        tag(field, 0)
        varint(value)
    }

    mutating func fixed64Field(_ field: UInt64, _ value: UInt64) {
        tag(field, 1)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    mutating func bytesField(_ field: UInt64, _ payload: [UInt8]) {
        tag(field, 2)
        varint(UInt64(payload.count))
        bytes += payload
    }

    mutating func stringField(_ field: UInt64, _ text: String) { bytesField(field, Array(text.utf8)) }

    static func message(_ build: (inout ProtobufBuilder) -> Void) -> [UInt8] {
        var builder = ProtobufBuilder()
        build(&builder)
        return builder.bytes
    }

    // MARK: OTLP messages (common/v1, resource/v1, trace/v1, collector/trace/v1)

    /// KeyValue { key = 1; value = 2 (AnyValue) }.
    static func keyValue(_ key: String, _ anyValue: [UInt8]) -> [UInt8] {
        message { $0.stringField(1, key); $0.bytesField(2, anyValue) }
    }
    /// AnyValue { string_value = 1 }.
    static func string(_ s: String) -> [UInt8] { message { $0.stringField(1, s) } }
    /// AnyValue { int_value = 3 }.
    static func int(_ i: Int64) -> [UInt8] { message { $0.varintField(3, UInt64(bitPattern: i)) } }
    /// AnyValue { double_value = 4 }.
    static func double(_ d: Double) -> [UInt8] { message { $0.fixed64Field(4, d.bitPattern) } }
    /// AnyValue { bool_value = 2 }.
    static func bool(_ b: Bool) -> [UInt8] { message { $0.varintField(2, b ? 1 : 0) } }
    /// AnyValue { array_value = 5 { values = 1 … } }.
    static func array(_ values: [[UInt8]]) -> [UInt8] {
        message { $0.bytesField(5, message { a in for v in values { a.bytesField(1, v) } }) }
    }

    /// Span { trace_id = 1, span_id = 2, name = 5, kind = 6, start = 7, end = 8, attributes = 9, status = 15 { code = 3 } }.
    static func span(name: String, start: UInt64, end: UInt64, attributes: [[UInt8]], statusCode: UInt64? = nil) -> [UInt8] {
        message { s in
            s.bytesField(1, [UInt8](repeating: 0xAB, count: 16))
            s.bytesField(2, [UInt8](repeating: 0xCD, count: 8))
            s.stringField(5, name)
            s.varintField(6, 3)  // SPAN_KIND_CLIENT
            s.fixed64Field(7, start)
            s.fixed64Field(8, end)
            for a in attributes { s.bytesField(9, a) }
            if let statusCode { s.bytesField(15, message { $0.varintField(3, statusCode) }) }
        }
    }

    /// ExportTraceServiceRequest { resource_spans = 1 { resource = 1 { attributes = 1 }, scope_spans = 2 { scope = 1, spans = 2 } } }.
    static func request(resource: [[UInt8]], spans: [[UInt8]]) -> [UInt8] {
        message { r in
            r.bytesField(1, message { rs in
                rs.bytesField(1, message { res in for a in resource { res.bytesField(1, a) } })
                rs.bytesField(2, message { ss in
                    ss.bytesField(1, message { $0.stringField(1, "test-scope") })
                    for span in spans { ss.bytesField(2, span) }
                })
                rs.stringField(3, "https://opentelemetry.io/schemas/1.37.0")
            })
        }
    }
}
