/// The constants of wire format v1 (see FORMAT.md, "Limits"). A batch that exceeds
/// any of them is rejected whole.
public enum WireLimits {
    /// The 4 bytes every batch starts with: ASCII "TLYB".
    public static let magic: (UInt8, UInt8, UInt8, UInt8) = (0x54, 0x4C, 0x59, 0x42)
    /// The format version this code writes and reads.
    public static let version: UInt8 = 1
    /// Header bytes written by v1; a decoder accepts longer headers and skips the rest.
    public static let headerLength = 40
    /// Smallest fixed frame part (before the tags) a decoder accepts: revision 1.0's.
    public static let frameLength = 68
    /// Fixed frame bytes this encoder writes (revision 1.1: cache writes and reasoning
    /// tokens appended). A decoder reads a field only when it lies within the batch's
    /// frame_length (absent fields are 0) and skips bytes past the ones it knows.
    public static let encodedFrameLength = 76
    /// Bytes per tag: key reference and value reference, 2 bytes each.
    public static let tagLength = 4
    /// Largest header or fixed frame part a decoder accepts, in bytes.
    public static let maxExtensibleLength = 1024
    /// Largest batch, in bytes (one ZeroMQ message).
    public static let maxBatchBytes = 1 << 20
    /// Most frames in one batch.
    public static let maxFrames = 16_384
    /// Most strings in one batch's string table; references are 0 ..< this.
    public static let maxStrings = 4_096
    /// Longest string, in UTF-8 bytes. Strings are never empty.
    public static let maxStringBytes = 255
    /// Most cohort tags on one frame.
    public static let maxTags = 8
    /// The "no string" reference, for optional dimensions.
    public static let noString: UInt16 = 0xFFFF
    /// The "absent" value of 32-bit measurements such as time to first token.
    public static let absent32: UInt32 = 0xFFFF_FFFF
    /// The "no category" value of the drift category id.
    public static let noCategory: UInt16 = 0xFFFF
}
