/// What a set of front ends shares: whether they bucket yet, the bytes their histograms may
/// still grow by, and whether one of them asked for more. The owner refills it from its
/// memory budget (an aggregate's window table does so after each burst of frames, never
/// per value).
public struct HistogramAllowance: Sendable {
    /// Whether values go to the histograms first (else straight to the digests).
    public var bucketing: Bool
    public var bytes: Int
    /// Set when a histogram refused a value for want of bytes (not for its width bound).
    public var wanted: Bool

    public init(bytes: Int = 0, bucketing: Bool = true) {
        self.bytes = bytes
        self.bucketing = bucketing
        wanted = false
    }
}
