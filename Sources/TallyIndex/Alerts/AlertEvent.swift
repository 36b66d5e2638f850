/// One alert transition (INDEX.md, "Alerts"). `fingerprint` is stable for the alert's
/// key (kind, name, scope), so one incident is one alert however long it fires.
public struct AlertEvent: Sendable, Codable, Equatable {
    /// `pending`, `firing`, `resolved`, or `cleared` (a pending breach that did not persist).
    public var state: String
    public var alert: Alert
    /// Window end (µs since the epoch) at which the transition happened.
    public var atMicros: UInt64

    enum CodingKeys: String, CodingKey {
        case state, alert
        case atMicros = "at_us"
    }
}

/// An alert as operators and Alertmanager see it: what breached where, since when,
/// the value against the boundary, who owns it and what to do.
public struct Alert: Sendable, Codable, Equatable {
    /// 16 hex digits: FNV-1a of ``key``.
    public var fingerprint: String
    /// `kpi:<kpi>`, `slo:<slo>:<rule>`, `drift:<metric>`, `fairness:<kpi>` (scope: the
    /// cohort key), `canary:roll_back` (scope `model=M,ring=canary`) or `no_data`; with the
    /// scope, the alert's identity.
    public var name: String
    public var scope: String
    /// `pending` or `firing` while open; `resolved` or `cleared` in the final event.
    public var state: String
    /// `page`, `ticket` or `warning` (yellow breaches).
    public var severity: String
    public var value: Double?
    public var threshold: Double?
    public var light: Light
    public var owner: String
    public var action: String
    public var summary: String
    /// Start of the window in which the breach began (µs since the epoch).
    public var startsAtMicros: UInt64
    /// End of the window that resolved it; absent while open.
    public var endsAtMicros: UInt64?

    public var key: String { name + "|" + scope }

    enum CodingKeys: String, CodingKey {
        case fingerprint, name, scope, state, severity, value, threshold, light, owner, action, summary
        case startsAtMicros = "starts_at_us"
        case endsAtMicros = "ends_at_us"
    }

    /// FNV-1a 64 of `key` as 16 hex digits.
    public static func fingerprint(_ key: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
