/// An `http://` URL as the alert sinks take it: a host (a name, an IPv4 address or a
/// bracketed IPv6 address), an optional port (80 without one) and an optional path.
/// No `https`, user info, query or fragment: the sinks speak plain HTTP/1.1 to a
/// receiver on a trusted network (typically Alertmanager on the same host).
public struct HTTPURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Starts with `/`; `/` when the URL has none.
    public var path: String

    public init(host: String, port: Int = 80, path: String = "/") {
        self.host = host
        self.port = port
        self.path = path
    }

    /// Parses `http://host[:port][/path]`; the message says what is wrong.
    public static func parse(_ text: String) -> Result<HTTPURL, HTTPURLError> {
        guard text.hasPrefix("http://") else { return .failure(HTTPURLError("\(text): expected http://host[:port][/path]")) }
        let rest = text.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !authority.contains("@"), !path.contains("?"), !path.contains("#"), !path.contains(" ") else {
            return .failure(HTTPURLError("\(text): no user info, query, fragment or space"))
        }
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(HTTPURLError("\(text): unterminated [IPv6] host")) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(HTTPURLError("\(text): expected :port after ]")) }
                portText = after.dropFirst()
            }
        } else {
            let parts = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty else { return .failure(HTTPURLError("\(text): no host")) }
        var port = 80
        if let portText {
            guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(portText), (1...65_535).contains(number) else {
                return .failure(HTTPURLError("\(text): port \(portText) not in 1 … 65535"))
            }
            port = number
        }
        return .success(HTTPURL(host: String(host), port: port, path: path))
    }

    /// The same host and port with `suffix` appended to the path (without doubling `/`).
    public func appending(path suffix: String) -> HTTPURL {
        var url = self
        url.path = (path.hasSuffix("/") ? String(path.dropLast()) : path) + suffix
        return url
    }

    /// The `Host` header's value: the host (bracketed when IPv6) and the port when not 80.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }

    public var description: String { "http://\(hostHeader)\(path)" }
}

/// Why a URL is not one the alert sinks take.
public struct HTTPURLError: Error, Sendable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
