/// A property of the target failed: traps with `message` (`fatalError` keeps its
/// message in an optimised build, `precondition` does not); libFuzzer reports a crash.
func fuzzFailure(_ message: @autoclosure () -> String) -> Never {
    fatalError("fuzz property failed: \(message())")
}

/// Traps through ``fuzzFailure(_:)`` unless `condition` holds.
@inline(__always)
func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fuzzFailure(message()) }
}
