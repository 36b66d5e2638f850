import Dispatch
import TallySketches

/// Runs `count` independent jobs on the available cores (`DispatchQueue.concurrentPerform`)
/// and returns their results in job order, or the first error in job order. Each job
/// writes only its own slot; the jobs must not share mutable state.
func concurrentMap<T>(_ count: Int, _ job: (Int) throws(SketchError) -> T) throws(SketchError) -> [T] {
    guard count > 1 else { return try (0..<count).map { (i) throws(SketchError) in try job(i) } }
    let slots = UnsafeMutableBufferPointer<Result<T, SketchError>?>.allocate(capacity: count)
    slots.initialize(repeating: nil)
    defer {
        _ = slots.deinitialize()
        slots.deallocate()
    }
    // The jobs run before concurrentPerform returns, so neither escapes; each touches its slot only.
    withoutActuallyEscaping(job) { job in
        nonisolated(unsafe) let work = job
        nonisolated(unsafe) let results = slots
        DispatchQueue.concurrentPerform(iterations: count) { i in
            results[i] = Result { () throws(SketchError) in try work(i) }
        }
    }
    var values: [T] = []
    values.reserveCapacity(count)
    for slot in slots { values.append(try slot!.get()) }
    return values
}
