#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Typed blocks straight from the C allocator's `malloc`, given back with ``free(_:)``.
///
/// `UnsafeMutablePointer.allocate(capacity:)` sends every request, whatever its alignment,
/// through the Swift runtime's aligned path, `posix_memalign`, which jemalloc (tallyd's
/// allocator) serves without its thread cache: ~600 instructions a block in callgrind
/// (Benchmarks/README.md, "Blocks from malloc"; `malloc` took the same kernel 34 Ir a frame
/// lower). Used where blocks are taken per series or per digest: the chunks of busy series'
/// aggregates and stashes (TallyCore's `PromotedBlockPool`), histogram blocks, HyperLogLog
/// registers, merge scratch, bit streams.
///
/// `malloc` aligns every block for any type whose alignment is at most 16 (a block of a
/// 16-aligned type is at least 16 bytes); wider types are refused. A block from here
/// must go back through ``free(_:)``, never `deallocate()`.
public enum SystemHeap {
    /// Uninitialized memory for `capacity` values of `T` (0 gives a valid one-byte block).
    /// Traps when the size overflows or the allocator has no memory, as `allocate` does.
    @inlinable
    public static func allocate<T>(_: T.Type, capacity: Int) -> UnsafeMutablePointer<T> {
        precondition(MemoryLayout<T>.alignment <= 16 && capacity >= 0, "SystemHeap: alignment or capacity")
        let (bytes, overflow) = capacity.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        precondition(!overflow, "SystemHeap: size overflows")
        guard let raw = malloc(Swift.max(bytes, 1)) else { fatalError("SystemHeap: out of memory (\(bytes) bytes)") }
        return raw.bindMemory(to: T.self, capacity: capacity)
    }

    /// Gives back a block from ``allocate(_:capacity:)`` (its values deinitialized first).
    @inlinable
    public static func free<T>(_ block: UnsafeMutablePointer<T>) {
        #if canImport(Glibc)
        Glibc.free(block)
        #elseif canImport(Musl)
        Musl.free(block)
        #else
        Darwin.free(block)
        #endif
    }
}
