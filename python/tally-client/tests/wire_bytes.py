"""A little-endian byte writer for building batches field by field from FORMAT.md's
tables, independent of the encoder (which uses struct formats)."""


class WireBytes:
    def __init__(self):
        self.data = bytearray()

    def uint(self, value, size):
        for i in range(size):
            self.data.append((value >> (8 * i)) & 0xFF)

    def u8(self, v): self.uint(v, 1)
    def u16(self, v): self.uint(v, 2)
    def u32(self, v): self.uint(v, 4)
    def u64(self, v): self.uint(v, 8)

    def string(self, s):
        encoded = s.encode("utf-8")
        self.u8(len(encoded))
        self.data += encoded
