/// A ``LogLinearHistogram`` in front of a t-digest: the per-series value distributions of
/// the aggregation core while their window is open.
///
/// A digest buffers its values unsorted (a few instructions each) and merges them when its
/// buffer fills, a pass that costs ~200 instructions a value; a histogram insert is an index
/// from the value's bits, one bucket update and the exact statistics (~40 a value in
/// `aggregate-100`'s fold, read per instruction on December 7; Benchmarks/README.md). So a distribution starts as its digest
/// alone, which answers small series exactly and costs nothing to set up, and once its owner
/// sets ``HistogramAllowance/bucketing`` (a busy series, with memory granted) values go to
/// the histogram. Values the histogram refuses (outside its width bound or past its allowance;
/// negative, NaN or infinite) keep going to the digest, so nothing is lost and memory stays
/// within what was granted. ``sealed(_:)`` merges both into one digest
/// (``TDigest/init(histogram:plus:)``).
///
/// The digest is the caller's (passed `inout`), so an aggregate keeps one digest per
/// distribution, as it would without the front end.
///
/// Accuracy: a bucket spans ≤ 0.78 % of its value; a bucket of equal values answers that
/// value, one of different values its middle (within 0.39 % of each). Measured against exact quantiles in
/// `HistogramFrontEndTests` and Benchmarks/README.md ("Core v2: the bucketed front end").
public struct HistogramFrontEnd {
    public var histogram: LogLinearHistogram

    /// A front end for counts and microseconds (`.integer`) or fractional values (`.float`).
    public init(_ mapping: LogLinearHistogram.Mapping) { histogram = LogLinearHistogram(mapping: mapping) }

    /// Adds a count or a duration in microseconds (an `.integer` front end).
    @inlinable @inline(__always)
    public mutating func insert(integer v: UInt32, digest: inout TDigest, allowance: inout HistogramAllowance) {
        if allowance.bucketing {
            insertBucketing(integer: v, digest: &digest, allowance: &allowance)
        } else {
            digest.insert(integer: v)
        }
    }

    /// Adds a fractional value (a `.float` front end); the histogram takes positive finite
    /// values and zero.
    @inlinable @inline(__always)
    public mutating func insert(_ v: Double, digest: inout TDigest, allowance: inout HistogramAllowance) {
        if allowance.bucketing {
            insertBucketing(v, digest: &digest, allowance: &allowance)
        } else {
            digest.insert(v)
        }
    }

    /// ``insert(integer:digest:allowance:)`` for a caller that knows `allowance` is bucketing
    /// (it checked once for all its distributions).
    @inlinable @inline(__always)
    public mutating func insertBucketing(integer v: UInt32, digest: inout TDigest, allowance: inout HistogramAllowance) {
        if !histogram.insert(integer: v, allowance: &allowance) { digest.insert(integer: v) }
    }

    /// ``insert(_:digest:allowance:)`` for a caller that knows `allowance` is bucketing.
    @inlinable @inline(__always)
    public mutating func insertBucketing(_ v: Double, digest: inout TDigest, allowance: inout HistogramAllowance) {
        let narrow = Float(v)
        // Positive, finite and not zero (subnormals included), as one compare of the bits:
        // they are 1 … 0x7F7F_FFFF exactly then (`narrow > 0 && narrow < .infinity` compiled
        // to ~13 instructions).
        if narrow.bitPattern &- 1 < 0x7F7F_FFFF {
            if histogram.insert(positive: narrow, exactly: v, allowance: &allowance) { return }
        } else if v == 0 {
            histogram.insertZero()
            return
        }
        digest.insert(v)
    }

    /// Readies `digest` for bucketing: merges what it buffered and frees its buffer (up to
    /// ~1 KB), which from now on holds only the values the histogram refuses. Call once,
    /// when ``HistogramAllowance/bucketing`` is set.
    public static func prepare(_ digest: inout TDigest) {
        digest.compress()
        digest.buffer = []
    }

    /// `digest` with the histogram's values merged in.
    public func sealed(_ digest: TDigest) -> TDigest {
        histogram.isEmpty ? digest : TDigest(histogram: histogram, plus: digest)
    }

    /// Frees the histogram's block.
    public mutating func release() { histogram.release() }
}
