extension TDigest {
    /// A merge of many digests built one digest at a time, so a caller that reads
    /// digests in place (e.g. out of a snapshot's series) never copies them into an
    /// array first: each copy retains the digest's two arrays, and rolling 10,000
    /// series up into the index's scopes spent a fifth of its time in those retains.
    ///
    /// The result is the one ``merged(_:)`` returns for the same digests in any order.
    /// Memory: 8 bytes per centroid or buffered value added, plus 8 per digest.
    public struct Merge: Sendable {
        /// Centroids and buffered values as one 64-bit key each: the mean's
        /// order-preserving 32-bit image above the weight, so sorting the keys sorts by
        /// mean, then weight (an integer sort, no comparison closure).
        @usableFromInline var keys: [UInt64] = []
        @usableFromInline var sums: [Double] = []
        @usableFromInline var merged: TDigest
        /// Whether a ``TDigestScale/k2tRelative`` digest was added (the result takes that scale).
        @usableFromInline var relative = false

        /// A merge whose result has `digest`'s compression, scale and buffer capacity.
        /// - Parameter expecting: centroids and values expected in all (a capacity hint).
        @inlinable
        public init(like digest: borrowing TDigest, expecting: Int = 0) {
            merged = TDigest(compression: digest.compression, scale: digest.scale, bufferCapacity: digest.bufferCapacity)
            keys.reserveCapacity(expecting)
        }

        /// Adds `digest`'s centroids, values and exact statistics.
        /// - Throws: ``SketchError/parameterMismatch(_:)`` when its compression or scale
        ///   differs from the merge's; nothing of it is added then.
        ///
        /// Inlinable so that a digest read in place (through a pointer) is borrowed,
        /// not copied, across the module boundary.
        @inlinable
        public mutating func add(_ digest: borrowing TDigest) throws(SketchError) {
            guard digest.storedCompression == merged.storedCompression, digest.scale.mergesWith(merged.scale) else {
                throw Merge.mismatch(merged, digest)
            }
            if digest.scale == .k2tRelative { relative = true }
            digest.centroids.withUnsafeBufferPointer { centroids in
                for c in centroids { keys.append(UInt64(TDigest.orderedBits(c.mean)) << 32 | UInt64(c.weight)) }
            }
            digest.buffer.withUnsafeBufferPointer { values in
                for value in values { keys.append(UInt64(TDigest.orderedBits(value)) << 32 | 1) }
            }
            digest.withSmallValues { values in
                for value in values { keys.append(UInt64(TDigest.orderedBits(value)) << 32 | 1) }
            }
            merged.stats.count &+= digest.stats.count
            merged.stats.rejected &+= digest.stats.rejected
            merged.stats.min = Swift.min(merged.stats.min, digest.stats.min)
            merged.stats.max = Swift.max(merged.stats.max, digest.stats.max)
            sums.append(digest.stats.sum)
        }

        @usableFromInline
        static func mismatch(_ merged: borrowing TDigest, _ digest: borrowing TDigest) -> SketchError {
            .parameterMismatch(
                "t-digest compression \(merged.compression)/\(digest.compression), scale \(merged.scale)/\(digest.scale)")
        }

        /// The merged digest (an empty one when nothing was added).
        public consuming func result() -> TDigest {
            var result = merged
            if relative { result.scale = .k2tRelative }
            result.stats.sum = sums.sorted().reduce(0, +)
            let count = keys.count
            guard count > 0 else { return result }
            // The standard sort, not a 64-bit radix sort: the keys are runs (each digest's
            // centroids are sorted), which its merge sort exploits; a radix sort cost 4 %
            // more instructions per evaluation (Benchmarks/README.md, "The index").
            keys.sort()
            TDigest.withScratch(count) { means, weights in
                keys.withUnsafeBufferPointer { keys in
                    for i in 0..<count {
                        let key = keys[i]
                        means[i] = Double(TDigest.float(orderedBits: UInt32(truncatingIfNeeded: key >> 32)))
                        weights[i] = Double(UInt32(truncatingIfNeeded: key))
                    }
                }
                result.mergePass(means: means, weights: weights, forward: true, span: TDigest.mergeSpan)
            }
            return result
        }
    }
}
