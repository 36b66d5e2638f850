import TallySketches

extension DigestDrift {
    /// Bins fixed from a baseline's quantiles, to compare later windows against it
    /// (``populationStabilityIndex(expected:actual:epsilon:)``).
    ///
    /// `edges` e₁ < e₂ < … < e_k split the line into k + 1 bins (−∞, e₁], (e₁, e₂], …,
    /// (e_k, +∞), in the metric's units. Freeze them once per baseline and keep them:
    /// edges recomputed from each window would hide the drift they are meant to show.
    public struct QuantileBins: Sendable, Hashable {
        /// Interior edges, finite and strictly increasing, at least one.
        public let edges: [Double]

        /// Number of bins, `edges.count + 1`.
        public var count: Int { edges.count + 1 }

        /// Bins with the given interior edges (e.g. restored from storage); `nil` unless
        /// they are finite, strictly increasing and at least one.
        public init?(edges: [Double]) {
            guard !edges.isEmpty, edges.allSatisfy(\.isFinite),
                  zip(edges, edges.dropFirst()).allSatisfy({ $0 < $1 }) else { return nil }
            self.edges = edges
        }

        /// Edges at the baseline's quantiles 1/bins, 2/bins, …, (bins − 1)/bins, so each
        /// bin holds about 1/bins of the baseline.
        ///
        /// Equal quantiles (ties: a point mass, or fewer distinct values than bins)
        /// collapse to one edge, so there may be fewer bins, of unequal baseline share;
        /// a baseline of one distinct value v gives the two bins (−∞, v] and (v, ∞).
        /// With few distinct values the digest interpolates between its centroids, so an
        /// edge may fall between two values; such a bin is empty on both sides and adds
        /// nothing to PSI.
        /// `nil` when the baseline is empty or `bins` < 2.
        public static func frozen(from baseline: TDigest, bins: Int = 10) -> QuantileBins? {
            guard bins >= 2, !baseline.isEmpty else { return nil }
            let digest = DigestDrift.compressed(baseline)
            var edges: [Double] = []
            for i in 1..<bins {
                let edge = digest.quantile(Double(i) / Double(bins))
                if edge.isFinite, edges.last.map({ $0 < edge }) ?? true { edges.append(edge) }
            }
            return QuantileBins(edges: edges)
        }

        /// The fraction of `digest`'s values in each bin (from its ``TDigest/cdf(_:)`` at
        /// the edges): ``count`` shares, each in [0, 1], summing to 1. Empty when the
        /// digest is empty.
        public func shares(of digest: TDigest) -> [Double] {
            guard !digest.isEmpty else { return [] }
            let d = DigestDrift.compressed(digest)
            let cumulative = [0] + edges.map { d.cdf($0) } + [1]
            return zip(cumulative, cumulative.dropFirst()).map { Swift.max($1 - $0, 0) }
        }
    }
}
