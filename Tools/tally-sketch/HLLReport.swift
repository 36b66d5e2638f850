/// HyperLogLog accuracy report (filled in with the HyperLogLog).
struct HLLReport {
    let trials: Int
    let maxDistinct: Int
    func run() {}
}
