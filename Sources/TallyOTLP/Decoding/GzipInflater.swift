import CZlib

/// Decompresses a gzip body (`Content-Encoding: gzip`, RFC 1952) with zlib, refusing
/// to produce more than a limit: a small body cannot expand without bound.
public enum GzipInflater {
    public enum Failure: Error, Sendable, Equatable {
        /// Not a gzip stream, a corrupt or truncated one, or bytes after its end.
        case corrupt(String)
        /// The decompressed size would pass the limit.
        case tooLarge(limit: Int)
    }

    /// The decompressed bytes of `compressed` (one gzip member).
    /// - Parameter limit: largest decompressed size accepted, in bytes.
    public static func inflate(_ compressed: UnsafeRawBufferPointer, limit: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard tally_inflate_init_gzip(&stream) == Z_OK else { throw .corrupt("zlib could not start") }
        defer { inflateEnd(&stream) }
        guard let base = compressed.baseAddress, !compressed.isEmpty else { throw .corrupt("empty body") }
        stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(clamping: compressed.count)
        var output: [UInt8] = []
        let chunk = 64 * 1024
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let (status, produced) = buffer.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(chunk)
                let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                return (status, chunk - Int(stream.avail_out))
            }
            guard output.count + produced <= limit else { throw .tooLarge(limit: limit) }
            output.append(contentsOf: buffer[0..<produced])
            switch status {
            case Z_STREAM_END:
                guard stream.avail_in == 0 else { throw .corrupt("bytes after the end of the gzip stream") }
                return output
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_in == 0:
                throw .corrupt("gzip stream truncated")
            default:
                if let message = stream.msg { throw .corrupt(String(cString: message)) }
                throw .corrupt("zlib status \(status)")
            }
        }
    }
}
