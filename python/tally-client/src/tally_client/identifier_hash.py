"""The hash producers apply to user and session ids before they go on the wire.

FORMAT.md, "Identifier hash": 64-bit FNV-1a (Fowler, Noll and Vo) over the id's UTF-8
bytes, offset basis 0xcbf29ce484222325, prime 0x100000001b3, arithmetic mod 2**64; a
result of 0 is sent as 1 (0 means "unknown"). Every Tally producer uses this function,
so a user counts once whatever language the fleet is written in.
"""

FNV_OFFSET_BASIS = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF


def identifier_hash(identifier, secret=""):
    """FNV-1a-64 of the UTF-8 bytes of ``secret + identifier`` (0 mapped to 1).

    ``identifier`` is a ``str`` (encoded as UTF-8) or bytes-like; anything else raises
    ``TypeError`` (``TallyClient.record`` counts that frame as ``invalid_frame``). ``secret`` is an
    optional per-fleet prefix, for ids that are easy to guess. Cost: pure Python,
    several microseconds for a short id (``TallyClient`` caches recent ones).
    """
    data = _utf8(identifier)
    if secret:
        data = _utf8(secret) + data
    h = FNV_OFFSET_BASIS
    for byte in data:
        h = ((h ^ byte) * FNV_PRIME) & _MASK
    return h or 1


def _utf8(value):
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"an identifier is str or bytes, not {type(value).__name__}")
