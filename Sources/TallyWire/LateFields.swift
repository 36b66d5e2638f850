/// Where the frames of one batch hold revision 1.1's fields (FORMAT.md: cache writes at
/// byte 68 when frame_length ≥ 72, reasoning tokens at byte 72 when frame_length ≥ 76), so
/// that each is read with one load and a mask instead of a branch: the field's offset and an
/// all-ones mask when frame_length covers it; else offset 0 (event_time, always present) and
/// a zero mask, so the field reads as 0. Computed once per batch.
@usableFromInline
struct LateFields {
    @usableFromInline let creationAt: Int
    @usableFromInline let creationMask: UInt32
    @usableFromInline let reasoningAt: Int
    @usableFromInline let reasoningMask: UInt32

    @inlinable
    init(frameLength: Int) {
        let creation = frameLength >= FrameLayout.cacheCreationInputTokens &+ 4
        let reasoning = frameLength >= FrameLayout.reasoningOutputTokens &+ 4
        creationAt = creation ? FrameLayout.cacheCreationInputTokens : 0
        creationMask = creation ? .max : 0
        reasoningAt = reasoning ? FrameLayout.reasoningOutputTokens : 0
        reasoningMask = reasoning ? .max : 0
    }

    /// A frame's cache_creation_input_tokens, 0 when its batch's frames end before it.
    @inlinable @inline(__always)
    func cacheCreationInputTokens(_ frame: UnsafeRawPointer) -> UInt32 {
        frame.readLE(creationAt, as: UInt32.self) & creationMask
    }

    /// A frame's reasoning_output_tokens, 0 when its batch's frames end before it.
    @inlinable @inline(__always)
    func reasoningOutputTokens(_ frame: UnsafeRawPointer) -> UInt32 {
        frame.readLE(reasoningAt, as: UInt32.self) & reasoningMask
    }
}
