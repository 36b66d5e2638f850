import TallyDaemon

/// A parsed profile file (``ConfigFile/parse(_:)``) and typed, range-checked reads of
/// its keys. Every read returns the fallback when the key is absent, and throws a
/// ``ConfigError`` naming the key and its line when the value has the wrong type or
/// is out of range.
struct ProfileEntries {
    let entries: [String: (value: ConfigValue, line: Int)]

    init(_ text: String) throws(ConfigError) {
        entries = try ConfigFile.parse(text)
    }

    /// The line a key is on (0 when absent), for messages.
    func line(_ key: String) -> Int { entries[key]?.line ?? 0 }

    /// An integer or float within `range`.
    func number(_ key: String, _ fallback: Double, _ range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard let entry = entries[key] else { return fallback }
        let value: Double
        switch entry.value {
        case .integer(let i): value = Double(i)
        case .float(let f): value = f
        default: throw ConfigError(field: key, "expected a number (line \(entry.line))")
        }
        guard range.contains(value) else {
            throw ConfigError(field: key, "\(value) not in \(range.lowerBound) … \(range.upperBound) (line \(entry.line))")
        }
        return value
    }

    /// An array of numbers, each within `range`, of exactly `count` items.
    func numbers(_ key: String, _ fallback: [Double], count: Int, _ range: ClosedRange<Double>) throws(ConfigError) -> [Double] {
        guard let entry = entries[key] else { return fallback }
        guard case .numbers(let list) = entry.value, list.count == count else {
            throw ConfigError(field: key, "expected an array of \(count) numbers (line \(entry.line))")
        }
        guard list.allSatisfy({ range.contains($0) }) else {
            throw ConfigError(field: key, "values are \(range.lowerBound) … \(range.upperBound) (line \(entry.line))")
        }
        return list
    }

    /// A quoted string of 1 … 255 bytes; `nil` when absent.
    func string(_ key: String) throws(ConfigError) -> String? {
        guard let entry = entries[key] else { return nil }
        guard case .string(let value) = entry.value else { throw ConfigError(field: key, "expected a quoted string (line \(entry.line))") }
        guard !value.isEmpty && value.utf8.count <= 255 else { throw ConfigError(field: key, "is 1 … 255 bytes (line \(entry.line))") }
        return value
    }

    /// `true` or `false`.
    func boolean(_ key: String, _ fallback: Bool) throws(ConfigError) -> Bool {
        guard let entry = entries[key] else { return fallback }
        guard case .boolean(let value) = entry.value else { throw ConfigError(field: key, "expected true or false (line \(entry.line))") }
        return value
    }

    /// An array of strings of 1 … 255 bytes each; empty only when `allowEmpty`.
    func strings(_ key: String, _ fallback: [String], allowEmpty: Bool) throws(ConfigError) -> [String] {
        guard let entry = entries[key] else { return fallback }
        guard case .strings(let list) = entry.value else {
            throw ConfigError(field: key, "expected an array of strings (line \(entry.line))")
        }
        if !allowEmpty && list.isEmpty { throw ConfigError(field: key, "needs at least one value (line \(entry.line))") }
        if list.contains(where: { $0.isEmpty || $0.utf8.count > 255 }) {
            throw ConfigError(field: key, "values are 1 … 255 bytes (line \(entry.line))")
        }
        return list
    }

    /// The keys of tables `[<prefix>."name"]`, grouped by name: `models.x.versions` →
    /// `["x": ["versions"]]`. Names may contain dots; the field is after the last one.
    func tables(_ prefix: String) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for key in entries.keys {
            guard key.hasPrefix(prefix + "."), let dot = key.lastIndex(of: "."),
                  key.index(key.startIndex, offsetBy: prefix.count) < dot else { continue }
            let name = String(key[key.index(key.startIndex, offsetBy: prefix.count + 1)..<dot])
            result[name, default: []].append(String(key[key.index(after: dot)...]))
        }
        return result
    }
}
