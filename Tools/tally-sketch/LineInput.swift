#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser

/// Calls `body` with each line (without its newline) of `path`, or of standard input
/// when `path` is nil, and its 1-based number. Returns how many lines `body` refused.
func forEachLine(of path: String?, _ body: (String, Int) -> Bool) throws -> Int {
    let file: UnsafeMutablePointer<FILE>
    if let path {
        guard let opened = fopen(path, "r") else {
            throw ValidationError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        file = opened
    } else {
        file = fdopen(0, "r")
    }
    defer { fclose(file) }
    var line: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    var number = 0, refused = 0
    while getline(&line, &capacity, file) >= 0 {
        number += 1
        var text = String(cString: line!)
        if text.hasSuffix("\n") { text.removeLast() }
        if text.hasSuffix("\r") { text.removeLast() }
        if !body(text, number) { refused += 1 }
    }
    free(line)
    return refused
}

func printError(_ message: String) {
    let text = "tally-sketch: \(message)\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}

/// A JSON number; non-finite values become null.
func jsonNumber(_ value: Double) -> String {
    guard value.isFinite else { return "null" }
    if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
    return "\(value)"
}

/// A quantile as a JSON key: "0.5", "0.99".
func jsonKey(_ q: Double) -> String { "\(q)" }

extension Substring {
    func trimmingCharacters() -> String { String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
