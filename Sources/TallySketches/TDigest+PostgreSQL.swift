extension TDigest {
    /// The digest in the text input format of the PostgreSQL `tdigest` extension
    /// (flags 1: centroids as means): `flags 1 count N compression C centroids K
    /// (mean, count) …`, means in Swift's shortest round-trip form (full precision).
    /// Empty digests have no valid text form there; this returns `nil` for them.
    public func postgreSQLText() -> String? {
        guard count > 0 else { return nil }
        var digest = self
        digest.compress()
        var text = "flags 1 count \(count) compression \(compression) centroids \(digest.centroids.count)"
        for centroid in digest.centroids {
            text += " (\(Double(centroid.mean)), \(centroid.weight))"
        }
        return text
    }
}
