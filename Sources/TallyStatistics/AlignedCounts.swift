/// Two histograms laid out over the same categories.
enum AlignedCounts {
    /// Counts of both histograms over the union of their categories in ascending id
    /// order, then `other` when either has one. Categories present with count 0 on
    /// both sides are left out.
    static func counts(_ a: [UInt16: UInt64], _ b: [UInt16: UInt64],
                       otherA: UInt64, otherB: UInt64) -> (a: [UInt64], b: [UInt64]) {
        let keys = Set(a.keys).union(b.keys).sorted().filter { a[$0, default: 0] > 0 || b[$0, default: 0] > 0 }
        var left = keys.map { a[$0, default: 0] }, right = keys.map { b[$0, default: 0] }
        if otherA > 0 || otherB > 0 {
            left.append(otherA)
            right.append(otherB)
        }
        return (left, right)
    }

    /// ``counts(_:_:otherA:otherB:)`` as fractions of each side's total; `nil` when
    /// either total is 0.
    static func shares(_ a: [UInt16: UInt64], _ b: [UInt16: UInt64],
                       otherA: UInt64, otherB: UInt64) -> (a: [Double], b: [Double])? {
        let (left, right) = counts(a, b, otherA: otherA, otherB: otherB)
        let totalA = left.reduce(0.0) { $0 + Double($1) }, totalB = right.reduce(0.0) { $0 + Double($1) }
        guard totalA > 0, totalB > 0 else { return nil }
        return (left.map { Double($0) / totalA }, right.map { Double($0) / totalB })
    }
}
