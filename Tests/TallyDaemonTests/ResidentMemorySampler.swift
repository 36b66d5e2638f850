import Foundation
import Synchronization

/// Samples a process's resident memory (`VmRSS` in /proc/<pid>/status) every
/// `intervalMillis` on a thread of its own and keeps the peak, in KiB.
final class ResidentMemorySampler: @unchecked Sendable {
    let pid: Int32
    private let peak = Atomic<Int>(0)
    private let samples = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(pid: Int32, intervalMillis: Int = 20) {
        self.pid = pid
        let thread = Thread { [self] in
            while !stopping.load(ordering: .acquiring) {
                if let kib = Self.residentKiB(pid: pid) {
                    samples.add(1, ordering: .relaxed)
                    if kib > peak.load(ordering: .relaxed) { peak.store(kib, ordering: .relaxed) }
                }
                Thread.sleep(forTimeInterval: Double(intervalMillis) / 1_000)
            }
            finished.signal()
        }
        thread.start()
    }

    /// The highest sample so far, in MiB.
    var peakMiB: Double { Double(peak.load(ordering: .relaxed)) / 1_024 }
    var sampleCount: Int { samples.load(ordering: .relaxed) }

    /// Resets the peak (e.g. after start-up) without stopping.
    func resetPeak() { peak.store(0, ordering: .relaxed) }

    func stop() {
        stopping.store(true, ordering: .releasing)
        finished.wait()
    }

    /// `VmRSS` of `pid` in KiB; nil when the process is gone.
    static func residentKiB(pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
}
