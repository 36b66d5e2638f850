import Foundation

/// Decodes an `ExportTraceServiceRequest` in the OTLP JSON encoding (OTLP/HTTP
/// `Content-Type: application/json`; OTLP specification, "JSON Protobuf Encoding"):
/// keys in lowerCamelCase (`resourceSpans`, `scopeSpans`, `startTimeUnixNano`, …),
/// 64-bit integers as decimal strings (numbers are accepted too), enums as integers
/// (the enum's name is accepted too), trace and span ids as hex (not read). Unknown
/// keys are ignored. Bounds: ``OTLPDecodeLimits``.
public enum OTLPJSONDecoder {
    /// - Throws: ``OTLPDecodeError`` (`bad_json` for syntax and wrong types).
    public static func decode(_ data: Data) throws(OTLPDecodeError) -> OTLPTraceRequest {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw OTLPDecodeError(.badJSON, "not JSON: \(error.localizedDescription)")
        }
        let object = try dictionary(root, "request")
        var request = OTLPTraceRequest()
        var spanCount = 0
        for resourceSpansValue in try array(object["resourceSpans"], "resourceSpans") {
            let resourceSpans = try dictionary(resourceSpansValue, "resourceSpans[]")
            var result = OTLPResourceSpans()
            if let resource = resourceSpans["resource"] {
                result.resourceAttributes = try attributes(try dictionary(resource, "resource")["attributes"], "resource.attributes")
            }
            for scopeValue in try array(resourceSpans["scopeSpans"], "scopeSpans") {
                let scope = try dictionary(scopeValue, "scopeSpans[]")
                for spanValue in try array(scope["spans"], "spans") {
                    spanCount += 1
                    guard spanCount <= OTLPDecodeLimits.maxSpans else {
                        throw OTLPDecodeError(.overLimit, "more than \(OTLPDecodeLimits.maxSpans) spans in one request")
                    }
                    result.spans.append(try span(try dictionary(spanValue, "spans[]")))
                }
            }
            request.resourceSpans.append(result)
        }
        return request
    }

    static func span(_ object: [String: Any]) throws(OTLPDecodeError) -> OTLPSpan {
        var span = OTLPSpan()
        if let name = object["name"] { span.name = try string(name, "span.name") }
        if let start = object["startTimeUnixNano"] { span.startTimeUnixNano = try unsigned(start, "startTimeUnixNano") }
        if let end = object["endTimeUnixNano"] { span.endTimeUnixNano = try unsigned(end, "endTimeUnixNano") }
        span.attributes = try attributes(object["attributes"], "span.attributes")
        if let statusValue = object["status"] {
            let status = try dictionary(statusValue, "status")
            if let message = status["message"] { span.statusMessage = try string(message, "status.message") }
            if let code = status["code"] {
                switch code as? String {
                case "STATUS_CODE_UNSET": span.statusCode = 0
                case "STATUS_CODE_OK": span.statusCode = 1
                case "STATUS_CODE_ERROR": span.statusCode = 2
                default: span.statusCode = try signed(code, "status.code")
                }
            }
        }
        return span
    }

    static func attributes(_ value: Any?, _ field: StaticString) throws(OTLPDecodeError) -> [OTLPAttribute] {
        let list = try array(value, field)
        guard list.count <= OTLPDecodeLimits.maxAttributes else {
            throw OTLPDecodeError(.overLimit, "\(field): more than \(OTLPDecodeLimits.maxAttributes) attributes")
        }
        var result: [OTLPAttribute] = []
        result.reserveCapacity(list.count)
        for element in list {
            let keyValue = try dictionary(element, field)
            let key = try string(keyValue["key"] ?? "", "attribute key")
            let value = try keyValue["value"].map { v throws(OTLPDecodeError) in try anyValue(v, depth: 1) } ?? .unsupported
            result.append(OTLPAttribute(key, value))
        }
        return result
    }

    /// One `AnyValue` object: `{"stringValue": …}`, `{"intValue": "42"}`, `{"arrayValue": {"values": […]}}`, ….
    static func anyValue(_ value: Any, depth: Int) throws(OTLPDecodeError) -> OTLPValue {
        guard depth <= OTLPDecodeLimits.maxDepth else {
            throw OTLPDecodeError(.tooDeep, "array values nested deeper than \(OTLPDecodeLimits.maxDepth)")
        }
        let object = try dictionary(value, "value")
        if let s = object["stringValue"] { return .string(try string(s, "stringValue")) }
        if let b = object["boolValue"] {
            guard let flag = b as? Bool else { throw OTLPDecodeError(.badJSON, "boolValue is not true or false") }
            return .bool(flag)
        }
        if let i = object["intValue"] { return .int(try signed(i, "intValue")) }
        if let d = object["doubleValue"] {
            if let number = d as? NSNumber { return .double(number.doubleValue) }
            if let text = d as? String, let number = Double(text) { return .double(number) }  // "NaN", "Infinity"
            throw OTLPDecodeError(.badJSON, "doubleValue is not a number")
        }
        if let a = object["arrayValue"] {
            let values = try array(try dictionary(a, "arrayValue")["values"], "arrayValue.values")
            guard values.count <= OTLPDecodeLimits.maxArrayValues else {
                throw OTLPDecodeError(.overLimit, "arrayValue: more than \(OTLPDecodeLimits.maxArrayValues) values")
            }
            var result: [OTLPValue] = []
            for element in values { result.append(try anyValue(element, depth: depth + 1)) }
            return .array(result)
        }
        return .unsupported
    }

    // MARK: Typed access

    static func dictionary(_ value: Any, _ field: StaticString) throws(OTLPDecodeError) -> [String: Any] {
        guard let object = value as? [String: Any] else { throw OTLPDecodeError(.badJSON, "\(field) is not an object") }
        return object
    }

    /// An absent or null key is an empty list (proto3 JSON omits empty repeated fields).
    static func array(_ value: Any?, _ field: StaticString) throws(OTLPDecodeError) -> [Any] {
        guard let value, !(value is NSNull) else { return [] }
        guard let list = value as? [Any] else { throw OTLPDecodeError(.badJSON, "\(field) is not an array") }
        return list
    }

    static func string(_ value: Any, _ field: StaticString) throws(OTLPDecodeError) -> String {
        guard let text = value as? String else { throw OTLPDecodeError(.badJSON, "\(field) is not a string") }
        return text
    }

    /// An int64 as a decimal string or a JSON number with no fraction.
    static func signed(_ value: Any, _ field: StaticString) throws(OTLPDecodeError) -> Int64 {
        if let text = value as? String {
            guard let number = Int64(text) else { throw OTLPDecodeError(.badJSON, "\(field): \"\(text.prefix(40))\" is not an int64") }
            return number
        }
        if let number = value as? NSNumber {
            let double = number.doubleValue
            guard double == double.rounded(), abs(double) < 9.2e18 else {
                throw OTLPDecodeError(.badJSON, "\(field): \(number) is not an int64")
            }
            return number.int64Value
        }
        throw OTLPDecodeError(.badJSON, "\(field) is not an integer")
    }

    /// A fixed64 (time in ns) as a decimal string or a non-negative JSON number.
    static func unsigned(_ value: Any, _ field: StaticString) throws(OTLPDecodeError) -> UInt64 {
        if let text = value as? String {
            guard let number = UInt64(text) else { throw OTLPDecodeError(.badJSON, "\(field): \"\(text.prefix(40))\" is not a uint64") }
            return number
        }
        let number = try signed(value, field)
        guard number >= 0 else { throw OTLPDecodeError(.badJSON, "\(field): \(number) is negative") }
        return UInt64(number)
    }
}
