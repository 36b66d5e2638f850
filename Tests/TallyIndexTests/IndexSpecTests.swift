import Foundation
import Testing
@testable import TallyIndex
import TallyCore
import TallySketches
import TallyWire

/// Holds INDEX.md and the Codable document types together: every key the engine (or a
/// fully populated document) emits is in INDEX.md's `key | type | meaning` table for its
/// object, and every key those tables list can be emitted. Plus the KPI and light tables.
@Suite struct IndexSpecTests {
    // MARK: INDEX.md

    struct Spec {
        var text = ""
        /// Object path (`$.alerts.open[]`) → keys of its table.
        var objectKeys: [String: Set<String>] = [:]
        /// Key tables with no `Path:` line before them.
        var unplacedTables = 0
        var kpiRows: [(name: String, unit: String, direction: String)] = []
        var lightRows: [(name: String, rank: Int)] = []
        var scopeKinds: [String] = []
    }

    static func specText() throws -> String {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let url = root.appendingPathComponent("Sources/TallyIndex/INDEX.md")
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The cells of a table row, trimmed, without the outer pipes (cells must not contain `|`).
    static func cells(_ line: String) -> [String] {
        var parts = line.trimmingCharacters(in: .whitespaces)
            .split(separator: "|", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.first == "" { parts.removeFirst() }
        if parts.last == "" { parts.removeLast() }
        return parts
    }

    /// The code spans of `text`, in order.
    static func backticked(_ text: String) -> [String] {
        let pieces = text.split(separator: "`", omittingEmptySubsequences: false)
        return stride(from: 1, to: pieces.count - 1, by: 2).map { String(pieces[$0]) }
    }

    static func parseSpec(_ text: String) -> Spec {
        var spec = Spec()
        spec.text = text
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var paths: [String] = []
        var i = 0
        while i < lines.count {
            let line = lines[i].trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") {
                paths = []
                i += 1
                continue
            }
            if line.hasPrefix("Path:") {
                paths = backticked(line)
                i += 1
                continue
            }
            guard line.hasPrefix("|") else {
                i += 1
                continue
            }
            let header = cells(line)
            var rows: [[String]] = []
            i += 1
            if i < lines.count, lines[i].trimmingCharacters(in: .whitespaces).hasPrefix("|---") { i += 1 }
            while i < lines.count, lines[i].trimmingCharacters(in: .whitespaces).hasPrefix("|") {
                rows.append(cells(lines[i]))
                i += 1
            }
            let first = rows.map { backticked($0.first ?? "").first ?? "" }
            if header == ["key", "type", "meaning"] {
                if paths.isEmpty { spec.unplacedTables += 1 }
                for path in paths { spec.objectKeys[path, default: []].formUnion(first) }
            } else if header.count == 4, header[0] == "kpi", header[1] == "unit", header[2] == "direction" {
                for row in rows where row.count >= 3 {
                    spec.kpiRows.append((backticked(row[0]).first ?? "", backticked(row[1]).first ?? "",
                                         backticked(row[2]).first ?? ""))
                }
            } else if header.count >= 2, header[0] == "light", header[1] == "rank" {
                for row in rows where row.count >= 2 {
                    spec.lightRows.append((backticked(row[0]).first ?? "", Int(row[1]) ?? -1))
                }
            } else if header == ["kind", "id", "labels"] {
                spec.scopeKinds += first
            }
            paths = []
        }
        return spec
    }

    // MARK: Key paths of encoded documents

    struct KeyPaths {
        /// Object path → keys seen there.
        var keys: [String: Set<String>] = [:]
        /// Map path → keys seen there (dynamic keys, not specified one by one).
        var mapKeys: [String: Set<String>] = [:]
        /// Paths holding a JSON null.
        var nulls: [String] = []
    }

    /// Objects whose keys are data (label names, light names), not fields.
    static let mapPaths: Set<String> = ["$.executive.scope_lights", "$.scopes[].labels"]

    static func walk(_ value: Any, _ path: String, _ into: inout KeyPaths) {
        if value is NSNull {
            into.nulls.append(path)
        } else if let object = value as? [String: Any] {
            if mapPaths.contains(path) {
                into.mapKeys[path, default: []].formUnion(object.keys)
                for (key, child) in object where child is NSNull { into.nulls.append(path + "." + key) }
                return
            }
            into.keys[path, default: []].formUnion(object.keys)
            for (key, child) in object { walk(child, path + "." + key, &into) }
        } else if let array = value as? [Any] {
            for element in array { walk(element, path + "[]", &into) }
        }
    }

    static func keyPaths(_ documents: [IndexDocument]) throws -> KeyPaths {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var paths = KeyPaths()
        for document in documents {
            let data = try encoder.encode(document)
            walk(try JSONSerialization.jsonObject(with: data), "$", &paths)
        }
        return paths
    }

    // MARK: Snapshots

    static let windowMicros: UInt64 = 10_000_000
    static let t0: UInt64 = 1_700_000_000_000_000

    static func aggregate(requests n: Int, errors: Int, refusals: Int, latencyScale: Double, critical: UInt64) -> SeriesAggregate {
        var a = SeriesAggregate(sketches: SketchParameters())
        a.requests = UInt64(n)
        a.statusCounts = [UInt64(n - errors), UInt64(errors), 0, 0, 0, 0]
        a.refusals = UInt64(refusals)
        a.escalations = UInt64(n / 100)
        a.fallbacks = 0
        a.taskOutcomes = [UInt64(n / 10), UInt64(n * 8 / 10), UInt64(n - n / 10 - n * 8 / 10)]
        a.feedbackUp = UInt64(n / 5)
        a.feedbackDown = UInt64(n / 20)
        a.safetyBySeverity = [0, UInt64(n / 100), 0, 0, critical]
        for i in 0..<n {
            let jitter = Double(i % 100)
            a.totalLatency.insert((1_000_000 + jitter * 10_000) * latencyScale)
            a.timeToFirstToken.insert((200_000 + jitter * 1_000) * latencyScale)
            a.queueTime.insert(10_000 + jitter * 100)
            a.timePerOutputToken.insert(20_000 + jitter * 50)
            a.inputTokens.insert(Double(500 + i % 100))
            a.outputTokens.insert(Double(200 + i % 50))
            a.cost.insert(0.002 + jitter * 0.00001)
            a.users.insert(UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15)
        }
        a.categories = [1: UInt64(n / 2), 2: UInt64(n - n / 2)]
        return a
    }

    /// One model, stable (version 1) and canary (version 2, slower, 20 % errors, a
    /// critical incident) rings, two `lang` cohorts (`en` refuses far more often).
    static func snapshot(window w: Int) -> Snapshot {
        func series(_ ring: DeploymentRing, _ lang: String, _ a: SeriesAggregate) -> SnapshotSeries {
            SnapshotSeries(labels: SeriesLabels(model: "m", modelVersion: ring == .canary ? "2" : "1", promptVersion: "p1",
                                                route: "chat", ring: ring, tags: [CohortTag("lang", lang)]),
                           aggregate: a, errorClasses: [:])
        }
        let start = t0 + UInt64(w) * windowMicros
        return Snapshot(
            collectorID: "spec", windowStartMicros: start, windowEndMicros: start + windowMicros, sequence: UInt64(w),
            sketches: SketchParameters(),
            series: [
                series(.stable, "de", aggregate(requests: 300, errors: 3, refusals: 6, latencyScale: 1, critical: 0)),
                series(.stable, "en", aggregate(requests: 300, errors: 3, refusals: 45, latencyScale: 1, critical: 0)),
                series(.canary, "de", aggregate(requests: 150, errors: 30, refusals: 3, latencyScale: 3, critical: 1)),
                series(.canary, "en", aggregate(requests: 150, errors: 30, refusals: 22, latencyScale: 3, critical: 1)),
            ],
            counters: [:])
    }

    /// Every document of 32 windows: past the default 30-window drift baseline.
    static func engineDocuments() throws -> [IndexDocument] {
        let engine = IndexEngine(policy: .standard, collectorID: "spec")
        var documents: [IndexDocument] = []
        for w in 0..<32 { documents += try engine.evaluate(snapshot(window: w)) }
        return documents
    }

    /// A document with every optional key present and every array non-empty.
    static func fullyPopulated() -> IndexDocument {
        let indicator = IndexDocument.Indicator(value: 0.5, light: .yellow, action: "investigate")
        let alert = Alert(fingerprint: Alert.fingerprint("kpi:error_rate|fleet"), name: "kpi:error_rate", scope: "fleet",
                          state: "resolved", severity: "page", value: 0.1, threshold: 0.05, light: .red, owner: "o",
                          action: "a", summary: "s", startsAtMicros: 1, endsAtMicros: 2)
        let executive = IndexDocument.Executive(
            overall: .red, action: "a", requests: 1, quality: indicator, costPerQuery: indicator, safetyIncidents: indicator,
            criticalIncidents: indicator, latencySLOAttainment: indicator, drift: .green, openAlerts: 1, firingAlerts: 1,
            scopeLights: ["red": 1])
        let scope = IndexDocument.ScopeReport(
            scope: "model=m", kind: "model", labels: ["model": "m"], requests: 1, light: .red,
            kpis: [IndexDocument.KPIReport(kpi: .errorRate, value: 0.1, light: .red, action: "a")])
        let drift = DriftReport(
            scope: "fleet", baseline: "first", baselineRequests: 1, requests: 1, light: .green,
            numeric: [.init(metric: "latency", ks: 0.1, ksPValue: 0.5, ksNoiseFloor: 0.2, psi: 0.1, psiNoiseFloor: 0.2,
                            wasserstein: 0.1, light: .green)],
            categorical: .init(psi: 0.1, psiNoiseFloor: 0.2, jensenShannon: 0.1, chiSquare: 1, chiSquarePValue: 0.5, light: .green),
            outcomes: [.init(kpi: .refusalRate, baseline: 0.1, current: 0.2, difference: 0.1, pValue: 0.01, light: .red)])
        let fairness = FairnessReport(
            key: "lang", kpi: .refusalRate, measure: "difference",
            cohorts: [.init(value: "de", kpiValue: 0.1, requests: 1)], best: "de", worst: "en", gap: 0.1, ratio: 2,
            pValue: 0.01, significant: true, light: .red, test: "two_proportion_z")
        let canary = CanaryVerdict(
            model: "m", stableVersions: ["1"], canaryVersions: ["2"], stableRequests: 1, canaryRequests: 1, verdict: .rollBack,
            decidedBy: [.errorRate], reason: "r",
            kpis: [.init(kpi: .errorRate, stable: 0.01, canary: 0.2, delta: 0.19, ratio: 20, pValue: 0.001,
                         regression: true, suspect: false)])
        // Heavy hitters with tenants, every summary non-empty (BudgetReportTests checks the figures).
        let (slice, _) = BudgetReportTests.slice(.stable, window: 0, k: 8)
        return IndexDocument(
            collector: "spec", span: "window", startMicros: 1, endMicros: 2, windows: 1, executive: executive,
            scopes: [scope], alerts: .init(open: [alert], events: [AlertEvent(state: "resolved", alert: alert, atMicros: 2)]),
            drift: [drift], fairness: [fairness], canary: [canary], budget: BudgetReport(slice))
    }

    /// FNV-1a 64 of `key`, 16 lowercase hex digits (INDEX.md, "Alert"), written independently.
    static func fnv1a(_ key: String) -> String {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        let hex = String(hash, radix: 16, uppercase: false)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    // MARK: Tests

    @Test func everyKeyIsSpecifiedAndEverySpecifiedKeyIsEmitted() throws {
        let spec = Self.parseSpec(try Self.specText())
        #expect(spec.unplacedTables == 0, "every key | type | meaning table needs a Path: line")
        #expect(!spec.objectKeys.isEmpty, "INDEX.md has no object tables")

        let documents = try Self.engineDocuments()
        let window = documents.filter { $0.span == "window" }
        // The scenario exercises every section.
        #expect(window.count == 32)
        #expect(documents.count == 32 * (1 + Policy.standard.spans.count))
        #expect(window.contains { !$0.alerts.events.isEmpty }, "no alert events")
        let last = try #require(window.last)
        #expect(last.alerts.open.contains { $0.name == "canary:roll_back" && $0.scope == "model=m,ring=canary" && $0.state == "firing" })
        #expect(last.alerts.open.contains { $0.name == "fairness:refusal_rate" && $0.scope == "lang" && $0.state == "firing" })
        #expect(last.canary.contains { $0.model == "m" && $0.verdict == .rollBack && $0.decidedBy.contains(.errorRate) })
        #expect(last.fairness.contains { $0.key == "lang" && $0.kpi == .refusalRate && $0.significant && $0.light == .red })
        #expect(last.drift.contains { $0.scope == "fleet" && $0.categorical != nil && !$0.numeric.isEmpty && !$0.outcomes.isEmpty })
        #expect(last.executive.overall == .red)

        // Fingerprints: FNV-1a 64 of name|scope, 16 lowercase hex digits.
        for document in window {
            for alert in document.alerts.open + document.alerts.events.map(\.alert) {
                #expect(alert.fingerprint == Self.fnv1a(alert.name + "|" + alert.scope), "fingerprint of \(alert.key)")
                #expect(alert.fingerprint.count == 16 && alert.fingerprint.allSatisfy { "0123456789abcdef".contains($0) })
            }
        }

        let emitted = try Self.keyPaths(documents)
        let emittable = try Self.keyPaths([Self.fullyPopulated()])
        #expect(emitted.nulls.isEmpty, "null at \(emitted.nulls)")
        #expect(emittable.nulls.isEmpty, "null at \(emittable.nulls)")
        #expect(emitted.keys["$"]?.contains("index") != true)

        // Every key the code emits is in the table of its object.
        for source in [emitted, emittable] {
            for (path, keys) in source.keys {
                let specified = spec.objectKeys[path]
                #expect(specified != nil, "INDEX.md has no table with Path: `\(path)`")
                for key in keys.sorted() {
                    #expect(specified?.contains(key) == true, "`\(key)` at \(path) is not in INDEX.md")
                }
            }
        }
        // Every key a table lists is one the Codable types emit there.
        for (path, keys) in spec.objectKeys {
            let codable = emittable.keys[path]
            #expect(codable != nil, "INDEX.md specifies \(path), which the document does not have")
            for key in keys.sorted() {
                #expect(codable?.contains(key) == true, "INDEX.md lists `\(key)` at \(path); the Codable types do not emit it")
            }
        }
        // Maps: their keys are lights and label names that INDEX.md names.
        for key in (emitted.mapKeys["$.executive.scope_lights"] ?? []).union(emittable.mapKeys["$.executive.scope_lights"] ?? []) {
            #expect(spec.lightRows.contains { $0.name == key }, "scope_lights key \(key) is not a light of INDEX.md")
        }
        let labelNames = (emitted.mapKeys["$.scopes[].labels"] ?? []).union(emittable.mapKeys["$.scopes[].labels"] ?? [])
        #expect(labelNames.isSuperset(of: ["model", "version", "ring", "lang"]))
        for key in labelNames {
            #expect(spec.text.contains("`\(key)`"), "label \(key) is not named in INDEX.md")
        }
        // Scope kinds: those emitted are in the kinds table, and the table is Scope.Kind's.
        for kind in Set(documents.flatMap { $0.scopes.map(\.kind) }) {
            #expect(spec.scopeKinds.contains(kind), "scope kind \(kind) is not in INDEX.md")
        }
        #expect(spec.scopeKinds == Scope.Kind.allCases.map(\.rawValue))
        #expect(IndexDocument.formatVersion == 1 && spec.text.contains("`format` is `1`"))
    }

    @Test func kpiTableMatchesKPI() throws {
        let spec = Self.parseSpec(try Self.specText())
        let names = spec.kpiRows.map { $0.name }
        for kpi in KPI.allCases {
            #expect(names.contains(kpi.rawValue), "KPI \(kpi.rawValue) is not in INDEX.md's KPI table")
        }
        #expect(names == KPI.allCases.map(\.rawValue), "the KPI table is not in KPI order (the order of `kpis`)")
        for row in spec.kpiRows {
            let kpi = KPI(rawValue: row.name)
            #expect(kpi != nil, "INDEX.md lists a KPI \(row.name) that the code does not have")
            guard let kpi else { continue }
            #expect(row.unit == kpi.unit, "unit of \(row.name)")
            #expect(row.direction == (kpi.higherIsWorse ? "higher_is_worse" : "lower_is_worse"), "direction of \(row.name)")
        }
    }

    @Test func lightTableMatchesLight() throws {
        let spec = Self.parseSpec(try Self.specText())
        #expect(spec.lightRows.map { $0.name } == Light.allCases.sorted().map(\.rawValue))
        #expect(spec.lightRows.map { $0.rank } == Array(0..<Light.allCases.count))
        for light in Light.allCases where light != .none {
            #expect(spec.text.contains(light.defaultAction), "default action of \(light.rawValue)")
        }
    }
}
