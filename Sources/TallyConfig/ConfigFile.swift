/// The configuration file: a strict subset of TOML (v1.0) — `[table]` headers,
/// `key = value` lines with strings, integers, floats, booleans and one-line arrays
/// of strings or of numbers, `#` comments. TOML because the configuration is flat and typed and its
/// syntax leaves nothing to indentation; a subset of our own because it needs no
/// dependency and every error can name the line and the key. Anything outside the
/// subset is an error, never silently ignored.
public enum ConfigValue: Equatable, Sendable {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    case strings([String])
    /// A non-empty array of numbers (integers and floats), e.g. `[6, 3, 1, 0.5]`.
    case numbers([Double])
}

/// A configuration problem: the field (dotted key) or line, and what is wrong.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let field: String
    public let message: String
    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "configuration: \(field): \(message)" }
}

public enum ConfigFile {
    /// Parses `text` into dotted keys (`table.key`, `prices."model-name".input` →
    /// `prices.model-name.input`) with their values and line numbers.
    public static func parse(_ text: String) throws(ConfigError) -> [String: (value: ConfigValue, line: Int)] {
        var result: [String: (value: ConfigValue, line: Int)] = [:]
        var table = ""
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = stripComment(String(rawLine)).trimmingSpaces()
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), !line.hasPrefix("[[") else {
                    throw ConfigError(field: "line \(lineNumber)", "a table header is [name]")
                }
                table = try dottedKey(String(line.dropFirst().dropLast()), line: lineNumber)
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(field: "line \(lineNumber)", "expected key = value")
            }
            let key = try dottedKey(String(line[..<equals]), line: lineNumber)
            let full = table.isEmpty ? key : table + "." + key
            let value = try parseValue(String(line[line.index(after: equals)...]).trimmingSpaces(), field: full)
            guard result[full] == nil else { throw ConfigError(field: full, "set twice (line \(lineNumber))") }
            result[full] = (value, lineNumber)
        }
        return result
    }

    /// `a.b`, `a."quoted key"` → `a.b`, `a.quoted key`.
    static func dottedKey(_ text: String, line: Int) throws(ConfigError) -> String {
        var parts: [String] = []
        var rest = Substring(text.trimmingSpaces())
        while !rest.isEmpty {
            if rest.hasPrefix("\"") {
                guard let close = rest.dropFirst().firstIndex(of: "\"") else {
                    throw ConfigError(field: "line \(line)", "unterminated quoted key")
                }
                let part = String(rest[rest.index(after: rest.startIndex)..<close])
                // An empty quoted key ("" = 1) names nothing, and its errors could name no field.
                guard !part.isEmpty else { throw ConfigError(field: "line \(line)", "empty quoted key in '\(text.trimmingSpaces())'") }
                parts.append(part)
                rest = rest[rest.index(after: close)...]
            } else {
                let end = rest.firstIndex(of: ".") ?? rest.endIndex
                let part = String(rest[..<end]).trimmingSpaces()
                guard !part.isEmpty, part.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                    throw ConfigError(field: "line \(line)", "invalid key '\(text.trimmingSpaces())'")
                }
                parts.append(part)
                rest = rest[end...]
            }
            rest = Substring(String(rest).trimmingSpaces())
            if rest.hasPrefix(".") { rest = Substring(String(rest.dropFirst()).trimmingSpaces()) }
        }
        guard !parts.isEmpty else { throw ConfigError(field: "line \(line)", "empty key") }
        return parts.joined(separator: ".")
    }

    static func parseValue(_ text: String, field: String) throws(ConfigError) -> ConfigValue {
        if text.hasPrefix("\"") { return .string(try parseString(text, field: field)) }
        if text == "true" { return .boolean(true) }
        if text == "false" { return .boolean(false) }
        if text.hasPrefix("[") {
            guard text.hasSuffix("]") else { throw ConfigError(field: field, "arrays are written on one line: [\"a\", \"b\"]") }
            let inner = String(text.dropFirst().dropLast()).trimmingSpaces()
            if inner.isEmpty { return .strings([]) }
            // Empty items are a trailing comma. All quoted: strings; none quoted: numbers.
            let items = splitArray(inner).map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
            if items.allSatisfy({ !$0.hasPrefix("\"") }) {
                var numbers: [Double] = []
                for item in items {
                    guard let number = parseNumber(item) else {
                        throw ConfigError(field: field, "cannot read array item \(item) (one array holds strings or numbers)")
                    }
                    numbers.append(number)
                }
                return .numbers(numbers)
            }
            var strings: [String] = []
            for item in items { strings.append(try parseString(item, field: field)) }
            return .strings(strings)
        }
        let digits = text.replacingUnderscores()
        if let integer = Int(digits) { return .integer(integer) }
        if let float = parseNumber(text) { return .float(float) }
        throw ConfigError(field: field, "cannot read value \(text) (strings are quoted)")
    }

    /// A finite integer or float (underscores allowed between digits); nil otherwise.
    static func parseNumber(_ text: String) -> Double? {
        guard let number = Double(text.replacingUnderscores()), number.isFinite else { return nil }
        return number
    }

    static func parseString(_ text: String, field: String) throws(ConfigError) -> String {
        guard text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") else {
            throw ConfigError(field: field, "unterminated string \(text)")
        }
        var result = ""
        var escaped = false
        for character in text.dropFirst().dropLast() {
            if escaped {
                switch character {
                case "n": result.append("\n")
                case "t": result.append("\t")
                case "\"", "\\": result.append(character)
                default: throw ConfigError(field: field, "unsupported escape \\\(character)")
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                throw ConfigError(field: field, "unescaped quote inside \(text)")
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// Splits on commas outside quotes.
    static func splitArray(_ text: String) -> [String] {
        var items: [String] = [], current = "", quoted = false, escaped = false
        for character in text {
            if escaped { escaped = false; current.append(character); continue }
            if character == "\\" && quoted { escaped = true; current.append(character); continue }
            if character == "\"" { quoted.toggle() }
            if character == "," && !quoted { items.append(current); current = ""; continue }
            current.append(character)
        }
        items.append(current)
        return items
    }

    /// Drops a `#` comment that is not inside a string.
    static func stripComment(_ line: String) -> String {
        var quoted = false, escaped = false
        for index in line.indices {
            let character = line[index]
            if escaped { escaped = false; continue }
            if character == "\\" && quoted { escaped = true; continue }
            if character == "\"" { quoted.toggle() }
            if character == "#" && !quoted { return String(line[..<index]) }
        }
        return line
    }
}

extension String {
    public func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" && $0 != "\r" }) else { return "" }
        let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" && $0 != "\r" })!
        return String(scalars[first...last])
    }

    public func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
