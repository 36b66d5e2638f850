/// Which window a frame belongs to, by its event time.
///
/// Windows are `[k·interval, (k+1)·interval)` in µs since the Unix epoch, so every
/// collector with the same interval uses the same boundaries. A window takes
/// frames until `allowedLateness` after its end (measured on the collector's clock);
/// then it is sealed, and later frames for it are **late: counted and dropped**
/// (never folded into another window, so a window's numbers mean what they say).
/// Frames stamped more than `futureTolerance` ahead of the collector's clock are
/// rejected as `future` (a producer's clock is wrong).
public struct WindowPolicy: Sendable, Hashable {
    public var intervalMicros: UInt64
    public var allowedLatenessMicros: UInt64
    public var futureToleranceMicros: UInt64

    public init(intervalMicros: UInt64 = 10_000_000, allowedLatenessMicros: UInt64 = 2_000_000,
                futureToleranceMicros: UInt64 = 60_000_000) {
        precondition(intervalMicros > 0, "window interval must be positive")
        self.intervalMicros = intervalMicros
        self.allowedLatenessMicros = allowedLatenessMicros
        self.futureToleranceMicros = futureToleranceMicros
    }

    public enum Placement: Equatable, Sendable {
        /// The frame belongs to the open window starting at this time (µs).
        case window(startMicros: UInt64)
        /// Its window is already sealed.
        case late
        /// Its event time is beyond `now + futureTolerance`.
        case future
    }

    /// Start of the window containing `eventTimeMicros`.
    @inlinable
    public func windowStart(_ eventTimeMicros: UInt64) -> UInt64 {
        eventTimeMicros - eventTimeMicros % intervalMicros
    }

    /// The collector-clock time at which the window starting at `start` is sealed.
    @inlinable
    public func sealTime(ofWindowStarting start: UInt64) -> UInt64 {
        start &+ intervalMicros &+ allowedLatenessMicros
    }

    /// Where a frame with `eventTimeMicros` goes when the collector's clock reads `nowMicros`.
    @inlinable
    public func place(eventTimeMicros: UInt64, nowMicros: UInt64) -> Placement {
        if eventTimeMicros > nowMicros &+ futureToleranceMicros { return .future }
        let start = windowStart(eventTimeMicros)
        return nowMicros >= sealTime(ofWindowStarting: start) ? .late : .window(startMicros: start)
    }
}
