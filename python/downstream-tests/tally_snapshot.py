"""A decoder of Tally snapshots (format versions 1 and 2) written from
Sources/TallyCore/SNAPSHOT.md alone, as a downstream store would write it: the binary
layout, the t-digest encodings (v1's own bytes, v2's compact bit stream), the `number`s
of v2, the HyperLogLog encoding, quantiles from centroids and the registers' rule."""
import math
import unicodedata
import struct

STATUS = ["ok", "error", "timeout", "rate_limited", "cancelled", "other"]
DIGESTS = ["queue_us", "ttft_us", "latency_us", "tpot_us", "input_tokens", "output_tokens", "cost_usd"]
MASK64 = (1 << 64) - 1


class DecodeError(ValueError):
    pass


class Reader:
    def __init__(self, data, offset=0):
        self.data = data
        self.offset = offset

    def take(self, n, what):
        if n < 0 or self.offset + n > len(self.data):
            raise DecodeError(f"{what}: runs past the end")
        out = self.data[self.offset:self.offset + n]
        self.offset += n
        return out

    def u8(self, what):
        return self.take(1, what)[0]

    def u16(self, what):
        return struct.unpack("<H", self.take(2, what))[0]

    def u64(self, what):
        return struct.unpack("<Q", self.take(8, what))[0]

    def f64(self, what):
        return struct.unpack("<d", self.take(8, what))[0]

    def number(self, what):
        """A v2 `number` (SNAPSHOT.md, "Conventions"): an even varint u is the integer
        zigzag^-1(u / 2), |value| <= 2^53; u = 1 announces a binary64; other odd u are
        refused, as are non-finite values."""
        u = self.varint(what)
        if u == 1:
            value = self.f64(what)
            if not math.isfinite(value):
                raise DecodeError(f"{what}: number not finite")
            return value
        if u & 1:
            raise DecodeError(f"{what}: number prefix {u} is odd and not the escape 1")
        value = zigzag_decode(u >> 1)
        if abs(value) > 2**53:
            raise DecodeError(f"{what}: integer number beyond 2^53")
        return float(value)

    def varint(self, what):
        value = 0
        for i in range(10):
            byte = self.u8(what)
            value |= (byte & 0x7F) << (7 * i)
            if byte & 0x80 == 0:
                if value > MASK64:
                    raise DecodeError(f"{what}: varint over 64 bits")
                return value
        raise DecodeError(f"{what}: varint longer than 10 bytes")

    def bytes_field(self, what):
        return self.take(self.varint(what), what)

    def at_end(self):
        return self.offset == len(self.data)


class BitReader:
    """Most significant bit first."""

    def __init__(self, data):
        self.data = data
        self.bit = 0

    def read(self, n):
        value = 0
        for _ in range(n):
            byte = self.bit >> 3
            if byte >= len(self.data):
                raise DecodeError("bit stream runs past the end")
            value = value << 1 | (self.data[byte] >> (7 - (self.bit & 7))) & 1
            self.bit += 1
        return value

    def run(self, bit):
        """The number of `bit`s (0 or 1) before the next other bit, which is consumed too
        (unary codes of v2's compact digests)."""
        count = 0
        while self.read(1) == bit:
            count += 1
        return count

    def finish(self):
        """The stream is zero-padded to a byte and fills its bytes exactly."""
        if (self.bit + 7) // 8 != len(self.data):
            raise DecodeError(f"bit stream: {len(self.data)} bytes for {self.bit} bits (missing or trailing bytes)")
        if self.bit & 7 and self.data[-1] & (0xFF >> (self.bit & 7)):
            raise DecodeError("bit stream: padding not zero")


# ---------------------------------------------------------------- t-digest

def zigzag_decode(u):
    return (u >> 1) ^ -(u & 1)


def mean_from_key(key, bits=28):
    """Reverses the order-preserving key of `bits` bits (SNAPSHOT.md, "t-digest bytes":
    28 in version 1, the header's mean_key_bits B in version 2)."""
    ordered = key << (64 - bits)
    image = ordered & ~(1 << 63) if ordered >> 63 else ~ordered & MASK64
    return struct.unpack("<d", struct.pack("<Q", image))[0]


def mean_key(value, bits=28):
    """The key of `value`: its ordered image rounded to the nearest `bits`-bit key."""
    image = struct.unpack("<Q", struct.pack("<d", value))[0]
    ordered = ~image & MASK64 if image >> 63 else image | 1 << 63
    rounded = ordered + (1 << (63 - bits))
    return (ordered if rounded > MASK64 else rounded) >> (64 - bits)


class Digest:
    def __init__(self, scale, compression, count, rejected, minimum=None, maximum=None, total=None,
                 means=(), weights=()):
        self.scale, self.compression, self.count, self.rejected = scale, compression, count, rejected
        self.min, self.max, self.sum = minimum, maximum, total
        self.means, self.weights = list(means), list(weights)
        # A cohort distribution the header's cohort_summaries names: exact count, min, max
        # and sum; no quantiles.
        self.summary = False

    def quantile(self, q):
        """SNAPSHOT.md, "Quantiles from centroids"; None for a summary of more than one value."""
        if self.count == 0 or not 0 <= q <= 1 or (self.summary and self.count > 1):
            return None
        m, w, n, lo, hi = self.means, self.weights, self.count, self.min, self.max
        k = len(m)

        def clamp(v):
            return min(max(v, lo), hi)

        if k == 1 or lo == hi:
            return lo if (k == 1 and w[0] == 1) else lo + (hi - lo) * q
        r = q * n
        if r <= 0:
            return lo
        if r >= n:
            return hi
        if r < w[0] / 2:
            if w[0] == 1:
                return m[0]
            if r < 1:
                return lo
            return lo + (m[0] - lo) * (r - 1) / (w[0] / 2 - 1)
        c = w[0] / 2
        for i in range(k - 1):
            g = (w[i] + w[i + 1]) / 2
            if r < c + g:
                left = right = 0.0
                if w[i] == 1:
                    if r - c < 0.5:
                        return m[i]
                    left = 0.5
                if w[i + 1] == 1:
                    if c + g - r <= 0.5:
                        return m[i + 1]
                    right = 0.5
                z1 = r - c - left
                z2 = c + g - r - right
                estimate = (m[i] * z2 + m[i + 1] * z1) / (z1 + z2)
                if self.scale == 5:  # k2t-relative: stay within 0.8 % of the centroid holding rank r
                    centre = m[i] if r < c + w[i] / 2 else m[i + 1]
                    band = 0.008 * abs(centre)
                    estimate = min(max(estimate, centre - band), centre + band)
                return clamp(estimate)
            c += g
        if w[k - 1] == 1:
            return m[k - 1]
        if n - r <= 1:
            return hi
        return clamp(m[k - 1] + (hi - m[k - 1]) * (r - c) / (w[k - 1] / 2 - 1))


def decode_digest(data):
    r = Reader(data)
    if r.u8("digest version") != 1:
        raise DecodeError("digest version")
    scale = r.u8("scale")
    compression = r.u16("compression")
    count = r.varint("count")
    rejected = r.varint("rejected")
    if count == 0:
        digest = Digest(scale, compression, 0, rejected)
    elif count == 1:
        value = r.f64("value")
        digest = Digest(scale, compression, 1, rejected, value, value, value, [value], [1])
    else:
        lo, hi, total = r.f64("min"), r.f64("max"), r.f64("sum")
        k = r.varint("centroids")
        if not 1 <= k <= count:
            raise DecodeError("centroid count")
        means, key = [], 0
        for i in range(k):
            key = r.varint("mean") if i == 0 else key + r.varint("mean")
            means.append(min(max(mean_from_key(key), lo), hi))
        weights, previous = [], 0
        for _ in range(k):
            previous += zigzag_decode(r.varint("weight"))
            if not 1 <= previous <= 2**32 - 1:
                raise DecodeError("weight out of range")
            weights.append(previous)
        if sum(weights) != count:
            raise DecodeError("weights do not sum to count")
        digest = Digest(scale, compression, count, rejected, lo, hi, total, means, weights)
    if not r.at_end():
        raise DecodeError("digest: trailing bytes")
    return digest


MEAN_KEY_BITS = range(12, 29)  # SNAPSHOT.md, "Layout": mean_key_bits 12 … 28


def read_compact_head(r, compression, scale, max_count=None):
    """The statistics every compact digest starts with: count and rejected, then the value
    (count 1: the whole digest) or min, max and sum. Returns (digest, None) when the digest
    ends there (count ≤ 1), else (None, (count, rejected, min, max, sum))."""
    count = r.varint("count")
    rejected = r.varint("rejected")
    if max_count is not None and count > max_count:
        raise DecodeError(f"summary count {count} over {max_count}")
    if count == 0:
        return Digest(scale, compression, 0, rejected), None
    if count == 1:
        value = r.number("value")
        return Digest(scale, compression, 1, rejected, value, value, value, [value], [1]), None
    lo, hi, total = r.number("min"), r.number("max"), r.number("sum")
    if lo > hi:
        raise DecodeError("min > max")
    return None, (count, rejected, lo, hi, total)


def decode_compact_digest(data, compression, scale, key_bits):
    """A version-2 snapshot's digest (SNAPSHOT.md, "t-digest bytes, compact"); compression
    and scale are the snapshot header's, key_bits its mean_key_bits B."""
    if key_bits not in MEAN_KEY_BITS:
        raise DecodeError(f"mean_key_bits {key_bits} not in 12…28")
    r = Reader(data)
    digest, head = read_compact_head(r, compression, scale)
    if head is not None:
        count, rejected, lo, hi, total = head
        k = r.varint("centroids")
        # Every centroid takes at least one bit (its weight's code).
        if not 1 <= k <= count or k > 8 * (len(data) - r.offset):
            raise DecodeError("centroid count")
        b = r.u8("rice parameter")
        if b > key_bits:
            raise DecodeError(f"rice parameter {b} over {key_bits}")
        stream = BitReader(data[r.offset:])
        limit = 1 << key_bits
        means, key = [], stream.read(key_bits)
        for i in range(k):
            if i > 0:
                q = stream.run(1)  # q one bits, then a zero bit
                key += q << b | stream.read(b)
                if key >= limit:
                    raise DecodeError(f"mean key {key} not below 2^{key_bits}")
            mean = mean_from_key(key, key_bits)
            if not math.isfinite(mean):
                raise DecodeError(f"mean key {key} is not a finite value")
            means.append(min(max(mean, lo), hi))
        weights, previous = [], 1
        for _ in range(k):
            zeros = stream.run(0)  # ⌊log2 u⌋ zero bits, then u's leading one (consumed) and the rest
            if zeros > 33:  # |w_i − w_{i−1}| ≤ 2^32 − 2: u < 2^33
                raise DecodeError("weight out of range")
            u = 1 << zeros | stream.read(zeros)
            previous += zigzag_decode(u - 1)
            if not 1 <= previous <= 2**32 - 1:
                raise DecodeError("weight out of range")
            weights.append(previous)
        if sum(weights) != count:
            raise DecodeError("weights do not sum to count")
        stream.finish()
        return Digest(scale, compression, count, rejected, lo, hi, total, means, weights)
    if not r.at_end():
        raise DecodeError("digest: trailing bytes")
    return digest


LEAN_SUMMARY_MAX_COUNT = (2**32 - 1) * 4096  # SNAPSHOT.md: a lean summary's count bound


def decode_lean_summary(data, compression, scale):
    """A lean summary (SNAPSHOT.md, "t-digest bytes, compact", cohort_summaries bit 7):
    count, rejected, then the value (count 1) or min, max and sum; the centroids are the
    summary's own: one at sum / count clamped to [min, max], or ⌈count / (2^32 − 1)⌉
    equal parts of the count (the remainder on the last ones) when one cannot hold it."""
    r = Reader(data)
    digest, head = read_compact_head(r, compression, scale, max_count=LEAN_SUMMARY_MAX_COUNT)
    if head is not None:
        count, rejected, lo, hi, total = head
        mean = min(max(total / count, lo), hi)
        parts = -(-count // (2**32 - 1))
        weights, left = [], count
        for part in range(parts):
            weights.append(left // (parts - part))
            left -= weights[-1]
        digest = Digest(scale, compression, count, rejected, lo, hi, total, [mean] * parts, weights)
    if not r.at_end():
        raise DecodeError("summary: trailing bytes")
    digest.summary = True
    return digest


# ------------------------------------------------------------- HyperLogLog

def fmix64(h):
    """MurmurHash3's 64-bit finalizer."""
    h ^= h >> 33
    h = h * 0xFF51AFD7ED558CCD & MASK64
    h ^= h >> 33
    h = h * 0xC4CEB9FE1A85EC53 & MASK64
    h ^= h >> 33
    return h


def register_of(value_hash, p):
    """(index, value) of the register a 64-bit user or session hash sets (SNAPSHOT.md)."""
    mixed = fmix64(value_hash)
    rest = mixed >> p
    value = 64 - p + 1 if rest == 0 else (rest & -rest).bit_length()
    return mixed & ((1 << p) - 1), value


def canonical_huffman(lengths):
    """{(length, code): symbol} for a canonical Huffman code as in DEFLATE (RFC 1951 3.2.2)."""
    max_len = max((n for n in lengths.values() if n), default=0)
    count = [0] * (max_len + 1)
    for n in lengths.values():
        if n:
            count[n] += 1
    code, next_code = 0, [0] * (max_len + 2)
    for bits in range(1, max_len + 1):
        code = (code + count[bits - 1]) << 1
        next_code[bits] = code
    table = {}
    for symbol in sorted(lengths):
        n = lengths[symbol]
        if n:
            table[(n, next_code[n])] = symbol
            next_code[n] += 1
    return table


class Sketch:
    def __init__(self, kind, precision, keys=None, escapes=None, registers=None, estimate=None):
        self.kind, self.precision = kind, precision
        self.keys, self.escapes = keys, escapes
        self.registers, self.stored_estimate = registers, estimate

    @property
    def exact(self):
        return self.kind == 0x11


def decode_hll(data):
    r = Reader(data)
    kind = r.u8("hll kind")
    p = r.u8("precision")
    if kind not in (0x11, 0x13, 0x14) or not 4 <= p <= 18:
        raise DecodeError(f"hll kind {kind:#x} precision {p}")
    m = 1 << p
    if kind == 0x11:
        n = r.varint("exact count")
        if n > m // 16:
            raise DecodeError("exact count over m/16")
        bits = BitReader(data[r.offset:])
        low_bits = 0 if n == 0 else max(l for l in range(29) if (1 << 28) >> l >= n)
        lows = [bits.read(low_bits) for _ in range(n)]
        keys, high = [], 0
        for low in lows:
            while bits.read(1) == 0:
                high += 1
            keys.append(high << low_bits | low)
        escapes = {}
        for key in keys:
            if (key >> p) & ((1 << (28 - p)) - 1) == 0:
                escapes[key] = bits.read(6)
        bits.finish()
        if keys != sorted(set(keys)) or any(k >> 28 for k in keys):
            raise DecodeError("exact keys not sorted, distinct 28-bit")
        return Sketch(kind, p, keys=keys, escapes=escapes)
    estimate = r.f64("estimate") if kind == 0x13 else None
    first = r.u8("first symbol")
    count = r.u8("symbol count")
    nibbles = r.take((count + 1) // 2, "code lengths")
    lengths = {first + i: (nibbles[i // 2] >> (4 if i % 2 == 0 else 0)) & 0x0F for i in range(count)}
    table = canonical_huffman(lengths)
    bits = BitReader(data[r.offset:])
    registers = []
    for _ in range(m):
        length, code = 0, 0
        while (length, code) not in table:
            code = code << 1 | bits.read(1)
            length += 1
            if length > 15:
                raise DecodeError("register code not in the Huffman table")
        registers.append(table[(length, code)])
    bits.finish()
    return Sketch(kind, p, registers=registers, estimate=estimate)


# ---------------------------------------------------------------- snapshot

COHORTS_FLAG = 0x01
COHORT_SUMMARY_BITS = 0x77  # every digest but time per output token (bit 3)
LEAN_SUMMARIES_BIT = 0x80   # version 2: the summaries are written lean (no centroids)
HEAVY_HITTERS_FLAG = 0x02
TENANTS_FLAG = 0x04
# Flags bit 3 (version 2, with bit 1): the cost summaries' weights are in units of 2^-32 USD.
COST_UNITS_FLAG = 0x08
# Flags bit 4 (version 2): a series or cohort record's empty sketch may be zero bytes.
EMPTY_SKETCHES_FLAG = 0x10


def fnv1a64(text):
    """FNV-1a-64 of the UTF-8 bytes, 0 taken as 1: a tenant's key (SNAPSHOT.md, "Heavy hitters")."""
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return h or 1


def decode_snapshot(data):
    """The snapshot as a dict; raises DecodeError on anything SNAPSHOT.md forbids."""
    if len(data) < 24 or data[:4] != b"TLYS":
        raise DecodeError("magic")
    # flags bit 0: a cohort section follows the series, bit 1: a heavy-hitter section,
    # bit 2 (only with bit 1): its slices have a tenant part; bit 3 (version 2, only with
    # bit 1): cost summaries in units of 2^-32 USD; bit 4 (version 2): empty sketches may be
    # zero bytes; any other bit is refused (SNAPSHOT.md).
    if data[4] not in (1, 2):
        raise DecodeError(f"unsupported version {data[4]}")
    # byte 6: cohort_summaries, bit i set: the cohorts' digest i (DIGESTS order) is a summary;
    # never time per output token (bit 3) or bit 7, and only with a cohort section.
    if data[5] & ~(COHORTS_FLAG | HEAVY_HITTERS_FLAG | TENANTS_FLAG | COST_UNITS_FLAG | EMPTY_SKETCHES_FLAG) \
            or data[7] != 0:
        raise DecodeError("version, flags or reserved")
    if data[6] & ~(COHORT_SUMMARY_BITS | LEAN_SUMMARIES_BIT) or (data[6] and not data[5] & COHORTS_FLAG):
        raise DecodeError(f"cohort_summaries {data[6]:#04x}")
    if data[6] & LEAN_SUMMARIES_BIT and not (data[6] & COHORT_SUMMARY_BITS and data[4] == 2):
        raise DecodeError(f"cohort_summaries {data[6]:#04x}: the lean bit without summaries or in version 1")
    if data[5] & TENANTS_FLAG and not data[5] & HEAVY_HITTERS_FLAG:
        raise DecodeError("the tenant flag without the heavy-hitter flag")
    if data[5] & COST_UNITS_FLAG and not (data[5] & HEAVY_HITTERS_FLAG and data[4] == 2):
        raise DecodeError("the cost-units flag without the heavy-hitter flag or in version 1")
    if data[5] & EMPTY_SKETCHES_FLAG and data[4] != 2:
        raise DecodeError("the empty-sketches flag in version 1")
    version = data[4]
    r = Reader(data, 8)
    out = {"version": version, "window_start": r.u64("window_start"), "window_end": r.u64("window_end")}
    if out["window_start"] >= out["window_end"]:
        raise DecodeError("window_end not after window_start")
    try:
        strings = [r.bytes_field("string").decode("utf-8") for _ in range(r.varint("string_count"))]
    except UnicodeDecodeError as error:
        raise DecodeError(f"a string that is not UTF-8: {error}") from None
    if not strings or strings[0] != "":
        raise DecodeError("string 0 is not empty")

    def ref():
        i = r.varint("ref")
        if i >= len(strings):
            raise DecodeError("ref out of range")
        return strings[i]

    out["collector_id"] = ref()
    out["sequences"] = []
    for _ in range(r.varint("sequence_count")):
        collector, first, last = ref(), r.varint("first"), r.varint("last")
        if first > last:
            raise DecodeError("sequence range first > last")
        out["sequences"].append((collector, first, last))
    out["compression"], out["scale"] = r.varint("compression"), r.u8("scale")
    out["digest_buffer"], out["hll_precision"] = r.varint("buffer"), r.u8("hll precision")
    out["mean_key_bits"] = None
    if version == 2:
        # v2 only: the bits B of each centroid mean's key.
        out["mean_key_bits"] = r.u8("mean_key_bits")
        if out["mean_key_bits"] not in MEAN_KEY_BITS:
            raise DecodeError(f"mean_key_bits {out['mean_key_bits']} not in 12…28")
        compression, scale, key_bits = out["compression"], out["scale"], out["mean_key_bits"]

        def digest_decoder(raw):
            return decode_compact_digest(raw, compression, scale, key_bits)
    else:
        digest_decoder = decode_digest
    out["counters"] = {}
    out["counter_order"] = []
    for _ in range(r.varint("counter_count")):
        name = ref()
        out["counters"][name] = r.varint("counter")
        out["counter_order"].append(name)
    empty = None
    if data[5] & EMPTY_SKETCHES_FLAG:
        # SNAPSHOT.md, "Empty sketches": zero bytes read as the empty sketch's own bytes.
        empty = {"digest": bytes([0, 0]), "hll": bytes([0x11, out["hll_precision"], 0])}
    out["series"] = [decode_series(r, ref, digest_decoder, empty=empty) for _ in range(r.varint("series_count"))]
    out["cohorts"] = []
    if data[5] & COHORTS_FLAG:
        count = r.varint("cohort_count")
        if count == 0:
            raise DecodeError("cohort section without cohorts")
        lean = [name for i, name in enumerate(DIGESTS) if data[6] & LEAN_SUMMARIES_BIT and data[6] >> i & 1]

        def cohort_digest_decoder(raw, name):
            if name in lean:
                return decode_lean_summary(raw, out["compression"], out["scale"])
            return digest_decoder(raw)
        out["cohorts"] = [decode_series(r, ref, cohort_digest_decoder, by_name=True, empty=empty) for _ in range(count)]
        labels = [label_key(c) for c in out["cohorts"]]
        if any(len(c["tags"]) != 1 for c in out["cohorts"]):
            raise DecodeError("a cohort aggregate needs exactly one tag")
        if len(set(map(repr, labels))) != len(labels):
            raise DecodeError("cohort labels not unique")
    out["cohort_summaries"] = [name for i, name in enumerate(DIGESTS) if data[6] >> i & 1]
    for cohort in out["cohorts"]:
        for name in out["cohort_summaries"]:
            cohort[name].summary = True
    out["heavy_hitters"] = []
    if data[5] & HEAVY_HITTERS_FLAG:
        count = r.varint("slice_count")
        if count == 0:
            raise DecodeError("heavy-hitter section without slices")
        for _ in range(count):
            out["heavy_hitters"].append(decode_slice_heavy_hitters(r, ref, version, bool(data[5] & TENANTS_FLAG),
                                                                   bool(data[5] & COST_UNITS_FLAG)))
        keys = [slice_label_key(s) for s in out["heavy_hitters"]]
        if any(a >= b for a, b in zip(keys, keys[1:])):
            raise DecodeError("heavy-hitter slices not in strictly ascending label order")
    if not r.at_end():
        raise DecodeError("trailing bytes")
    return out


def decode_slice_heavy_hitters(r, ref, version=1, tenants=False, cost_units=False):
    """SNAPSHOT.md, "Heavy hitters": a slice's labels, k, and its two summaries, each
    {"total": W, "entries": [(key, estimate, error), ...]} heaviest first. Weights are
    f64 in version 1, `number`s in version 2. With `tenants` (flags bit 2) the slice's
    tenant part follows: "tenant_key" ("" for none) and, when there is one,
    "tenants_by_requests" and "tenants_by_cost", whose entries are (name, estimate, error).
    With `cost_units` (flags bit 3) the cost summaries' numbers count units of 2^-32 USD:
    each is scaled back by 2^-32 (exact: a power of two)."""
    plain = r.number if version == 2 else r.f64
    s = {"model": ref(), "model_version": ref(), "prompt_version": ref(), "route": ref(), "ring": r.u8("ring")}
    if s["ring"] > 2:
        raise DecodeError("ring")
    k = r.varint("capacity")
    if not 1 <= k <= 65536:
        raise DecodeError("heavy-hitter capacity")
    s["capacity"] = k

    def summary(read_key, key_of, scale=1.0):
        def weight(field):
            return plain(field) * scale
        total = weight("total_weight")
        if not math.isfinite(total) or total < 0:
            raise DecodeError("heavy-hitter total weight")
        n = r.varint("entry_count")
        if n > k:
            raise DecodeError("more heavy-hitter entries than capacity")
        entries = [(read_key(), weight("estimate"), weight("error")) for _ in range(n)]
        for _, estimate, error in entries:
            if not (math.isfinite(estimate) and math.isfinite(error) and 0 <= error <= estimate <= total * (1 + 1e-9)):
                raise DecodeError("heavy-hitter entry out of bounds")
        if len({key_of(key) for key, _, _ in entries}) != n:
            raise DecodeError("heavy-hitter key repeated")
        order = [(-estimate, key_of(key)) for key, estimate, _ in entries]
        if order != sorted(order):
            raise DecodeError("heavy-hitter entries not heaviest first")
        return {"total": total, "entries": entries}

    cost_scale = 2.0 ** -32 if cost_units else 1.0
    for name, scale in [("users_by_requests", 1.0), ("users_by_cost", cost_scale)]:
        s[name] = summary(lambda: r.u64("key"), lambda key: key, scale)
    if tenants:
        s["tenant_key"] = ref()
        if s["tenant_key"]:
            names_of, spellings = {}, {}
            for name, scale in [("tenants_by_requests", 1.0), ("tenants_by_cost", cost_scale)]:
                s[name] = summary(ref, fnv1a64, scale)
                for tenant, _, _ in s[name]["entries"]:
                    if tenant == "":
                        raise DecodeError("an empty tenant name")
                    if names_of.setdefault(fnv1a64(tenant), tenant) != tenant:
                        raise DecodeError("two tenants with one key")
                    # Names are distinct as strings compare (SNAPSHOT.md, "Orders"): NFC and NFD
                    # spellings of one name are one name.
                    if spellings.setdefault(unicodedata.normalize("NFC", tenant), tenant) != tenant:
                        raise DecodeError("a tenant spelled twice")
    return s


def slice_label_key(s):
    return (s["model"].encode(), s["model_version"].encode(), s["prompt_version"].encode(), s["route"].encode(), s["ring"])


def decode_series(r, ref, digest_decoder=decode_digest, by_name=False, empty=None):
    """A series or cohort record; `digest_decoder(raw)`, or `digest_decoder(raw, name)` with
    `by_name`, reads each digest. With `empty` (flags bit 4), a zero-length sketch reads as
    `empty["digest"]` or `empty["hll"]`; without it, as the error it is."""
    s = {"model": ref(), "model_version": ref(), "prompt_version": ref(), "route": ref(), "ring": r.u8("ring")}
    tag_count = r.u8("tag_count")
    if tag_count > 8:
        raise DecodeError("tag_count")
    s["tags"] = [(ref(), ref()) for _ in range(tag_count)]
    s["requests"] = r.varint("requests")
    s["status"] = {name: r.varint("status") for name in STATUS}
    s["error_classes"] = [(ref(), r.varint("error count")) for _ in range(r.varint("error classes"))]
    for name in ["refusals", "escalations", "fallbacks"]:
        s[name] = r.varint(name)
    s["task"] = {name: r.varint("task") for name in ["unknown", "success", "failure"]}
    s["feedback_up"], s["feedback_down"] = r.varint("up"), r.varint("down")
    s["safety_by_severity"] = {name: r.varint("severity") for name in ["low", "medium", "high", "critical"]}
    mask = r.varint("kind mask")
    s["safety_by_kind"] = {bit: r.varint("kind") for bit in range(64) if mask >> bit & 1}
    s["unpriced"] = r.varint("unpriced")
    s["cached_input_tokens"] = r.varint("cached")
    s["digest_bytes"] = {}
    for name in DIGESTS:
        raw = r.bytes_field(name)
        s["digest_bytes"][name] = raw
        if not raw and empty:
            raw = empty["digest"]
        s[name] = digest_decoder(raw, name) if by_name else digest_decoder(raw)
    s["hll_bytes"] = {}
    for name in ["users", "sessions"]:
        raw = r.bytes_field(name)
        s["hll_bytes"][name] = raw
        if not raw and empty:
            raw = empty["hll"]
        s[name] = decode_hll(raw)
    n = r.varint("category count")
    if n > 64:
        raise DecodeError("more than 64 categories")
    s["categories"] = [(r.varint("category id"), r.varint("category count")) for _ in range(n)]
    s["other_categories"] = r.varint("other")
    return s


def label_key(series):
    """Sort key of "ascending label order" (SNAPSHOT.md, "Orders"): strings by their
    UTF-8 bytes (the strings here are NFC), then ring, then the tag pairs."""
    return (series["model"].encode(), series["model_version"].encode(), series["prompt_version"].encode(),
            series["route"].encode(), series["ring"], [(k.encode(), v.encode()) for k, v in series["tags"]])
