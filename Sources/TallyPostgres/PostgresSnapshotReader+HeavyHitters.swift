import Foundation
import TallyCore
import TallySketches
import TallyWire

extension PostgresSnapshotReader {
    /// `windows.heavy_hitters` (SCHEMA.md): the JSON line's `heavy_hitters` array
    /// (snapshot-line.schema.json), read back into the snapshot's slices. Numbers are written
    /// in their shortest round-trip form, so estimates, errors and W come back exactly; a
    /// user is 16 hex digits, a tenant its name (its key, FNV-1a-64 of the name, is derived).
    /// - Throws: ``RowError`` when the text is not that array or a summary breaks its rules.
    static func heavyHitters(_ text: String) throws -> [SliceHeavyHitters] {
        struct Entry: Decodable { var user: String?; var tenant: String?; var estimate: Double; var error: Double }
        struct Summary: Decodable { var total: Double; var top: [Entry] }
        struct Slice: Decodable {
            var model, model_version, prompt_version, route, ring: String
            var capacity: Int
            var users_by_requests, users_by_cost: Summary
            var tenant_tag: String?
            var tenants_by_requests, tenants_by_cost: Summary?
        }
        let slices: [Slice]
        do { slices = try JSONDecoder().decode([Slice].self, from: Data(text.utf8)) } catch {
            throw RowError("heavy_hitters is not the JSON line's array: \(error)")
        }
        return try slices.map { slice in
            guard let ring = DeploymentRing.allCases.first(where: { $0.name == slice.ring }) else {
                throw RowError("heavy_hitters: ring \(slice.ring)")
            }
            var names: [UInt64: String] = [:]
            func summary(_ s: Summary, tenants: Bool) throws -> HeavyHitters {
                let entries = try s.top.map { e -> HeavyHitters.Entry in
                    let key: UInt64
                    if tenants, let tenant = e.tenant {
                        key = IdentifierHash.hash(tenant)
                        names[key] = tenant
                    } else if !tenants, let user = e.user, user.utf8.count == 16, let hash = UInt64(user, radix: 16) {
                        key = hash
                    } else {
                        throw RowError("heavy_hitters: an entry without its \(tenants ? "tenant" : "16-hex-digit user")")
                    }
                    return HeavyHitters.Entry(key: key, estimate: e.estimate, error: e.error)
                }
                return try HeavyHitters(capacity: slice.capacity, totalWeight: s.total, entries: entries)
            }
            let labels = SeriesLabels(model: slice.model, modelVersion: slice.model_version, promptVersion: slice.prompt_version,
                                      route: slice.route, ring: ring)
            var tenants: TenantHeavyHitters? = nil
            if let tag = slice.tenant_tag, let byRequests = slice.tenants_by_requests, let byCost = slice.tenants_by_cost {
                tenants = try TenantHeavyHitters(tagKey: tag, byRequests: try summary(byRequests, tenants: true),
                                                 byCost: try summary(byCost, tenants: true), names: names)
            }
            return SliceHeavyHitters(labels: labels, usersByRequests: try summary(slice.users_by_requests, tenants: false),
                                     usersByCost: try summary(slice.users_by_cost, tenants: false), tenants: tenants)
        }
    }
}
