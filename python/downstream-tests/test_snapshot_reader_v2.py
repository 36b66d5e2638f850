"""The reader's version-2 parts (SNAPSHOT.md, "Conventions", "t-digest bytes, compact",
"Layout", "Heavy hitters", "Empty sketches") against bytes built here by hand from the
spec, with small encoders of this file's own (not the decoder's code). No tallyd needed."""
import math
import random
import struct

import pytest

from tally_snapshot import fnv1a64, DecodeError, decode_compact_digest, decode_snapshot, mean_from_key

COMPRESSION, SCALE = 100, 5  # tallyd's defaults: δ = 100, k2t-relative
MASK64 = 2**64 - 1


# ------------------------------------------------------------ encoders from the spec

def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def zigzag(n):
    return 2 * n if n >= 0 else -2 * n - 1


def number(value):
    """`number`: the integer form when the value is an integer of magnitude ≤ 2^53 and not
    −0, else the escape 1 and the binary64."""
    value = float(value)
    negative_zero = value == 0 and math.copysign(1, value) < 0
    if math.isfinite(value) and value.is_integer() and abs(value) <= 2**53 and not negative_zero:
        return varint(2 * zigzag(int(value)))
    return varint(1) + struct.pack("<d", value)


def ordered_image(value):
    bits = struct.unpack("<Q", struct.pack("<d", value))[0]
    return ~bits & MASK64 if bits >> 63 else bits | 1 << 63


def key_of(value, bits, add=None):
    """The B-bit key: the ordered image plus 2^(63−B) (or `add`) unless that overflows, top B bits."""
    ordered = ordered_image(value)
    rounded = ordered + ((1 << (63 - bits)) if add is None else add)
    return (ordered if rounded > MASK64 else rounded) >> (64 - bits)


class Bits:
    """A bit stream, most significant bit first, zero-padded to a byte."""

    def __init__(self):
        self.bits = []

    def write(self, value, n):
        self.bits += [value >> (n - 1 - i) & 1 for i in range(n)]

    def rice(self, difference, b):
        q = difference >> b
        self.bits += [1] * q + [0]
        self.write(difference & ((1 << b) - 1), b)

    def gamma(self, u):
        n = u.bit_length() - 1  # ⌊log2 u⌋
        self.bits += [0] * n
        self.write(u, n + 1)

    def finish(self):
        padded = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(int("".join(map(str, padded[i:i + 8])), 2) for i in range(0, len(padded), 8))


def compact_digest(keys, weights, minimum, maximum, total, b, bits, rejected=0, count=None):
    """A count > 1 compact digest from already computed keys and weights."""
    count = sum(weights) if count is None else count
    stream = Bits()
    stream.write(keys[0], bits)
    for before, key in zip(keys, keys[1:]):
        stream.rice(key - before, b)
    previous = 1
    for w in weights:
        stream.gamma(zigzag(w - previous) + 1)
        previous = w
    return (varint(count) + varint(rejected) + number(minimum) + number(maximum) + number(total)
            + varint(len(keys)) + bytes([b]) + stream.finish())


def decode(data, bits=21):
    return decode_compact_digest(data, COMPRESSION, SCALE, bits)


# ------------------------------------------------------------ digests

def test_empty_digest_is_two_zero_bytes():
    d = decode(bytes([0, 0]))
    assert (d.count, d.rejected, d.means, d.weights) == (0, 0, [], [])
    assert (d.compression, d.scale) == (COMPRESSION, SCALE), "the snapshot header's"
    assert d.quantile(0.5) is None
    assert decode(bytes([0, 3])).rejected == 3
    for bad in [bytes([0]), bytes([0, 0, 0])]:
        with pytest.raises(DecodeError):
            decode(bad)


def test_count_one_integer_value():
    # count 1, rejected 0, then 1500: zigzag 3000, u = 6000 = 46·128 + 112: varint F0 2E.
    data = bytes([0x01, 0x00, 0xF0, 0x2E])
    assert data == bytes([1, 0]) + number(1500), "the helper agrees"
    d = decode(data)
    assert (d.count, d.min, d.max, d.sum, d.means, d.weights) == (1, 1500, 1500, 1500, [1500], [1])
    assert d.quantile(0.0) == d.quantile(0.5) == d.quantile(1.0) == 1500
    d = decode(bytes([1, 2]) + varint(2 * zigzag(-7)))
    assert (d.min, d.rejected) == (-7, 2)
    assert decode(bytes([1, 0, 0])).min == 0.0


def test_count_one_value_through_the_f64_escape():
    for value in [0.125, -3.75, 1e300, 2.0**60, -0.0]:
        data = bytes([1, 0, 1]) + struct.pack("<d", value)
        assert data == bytes([1, 0]) + number(value)
        d = decode(data)
        assert (d.count, d.min, d.max, d.sum, d.means, d.weights) == (1, value, value, value, [value], [1])
        assert math.copysign(1, d.min) == math.copysign(1, value)


def test_a_hand_written_two_centroid_digest():
    """Worked by hand at B = 12 (sign and exponent: powers of two are exact): values 1, 1, 4.
    Keys 1.0 → 0xBFF, 4.0 → 0xC01 (difference 2, Rice b = 1: "1 0" + "0"); weights 2, 1
    from w_−1 = 1: u = zigzag(1) + 1 = 3 → "0 11", u = zigzag(−1) + 1 = 2 → "0 10".
    Stream 101111111111 100 011 010 + 000 padding = BF F8 D0."""
    data = bytes([0x03, 0x00, 0x04, 0x10, 0x18, 0x02, 0x01, 0xBF, 0xF8, 0xD0])
    assert data == compact_digest([0xBFF, 0xC01], [2, 1], 1, 4, 6, b=1, bits=12), "the helpers agree"
    d = decode(data, bits=12)
    assert (d.count, d.rejected, d.min, d.max, d.sum) == (3, 0, 1, 4, 6)
    assert (d.means, d.weights) == ([1.0, 4.0], [2, 1])
    assert d.quantile(0) == 1 and d.quantile(1) == 4

    # The refusals, each one byte off the good digest.
    def refused(data, match=None, bits=12):
        with pytest.raises(DecodeError, match=match):
            decode(data, bits)

    refused(data[:-1] + bytes([0xD1]), "padding")       # padding not zero
    refused(data[:-1] + bytes([0xD4]), "padding")       # padding not zero (its first bit)
    refused(data + bytes([0]), "trailing")              # a byte after the padding
    refused(data[:-1])                                  # the stream cut short
    refused(bytes([0x04]) + data[1:], "sum")            # weights 2 + 1 do not sum to count 4
    refused(data[:6] + bytes([13]) + data[7:])          # rice parameter 13 > B = 12
    refused(data[:5] + bytes([0x00]) + data[6:])        # K = 0
    refused(data[:5] + bytes([0x04]) + data[6:])        # K = 4 > count 3
    refused(data[:2] + number(5) + data[3:])            # min 5 > max 4
    refused(data[:2] + bytes([0x03]) + data[3:], "odd")  # number prefix 3: odd and not the escape
    refused(data[:3] + bytes([0x05]) + data[4:], "odd")  # number prefix 5
    refused(data[:2] + varint(1) + struct.pack("<d", math.inf) + data[3:])  # the escape holding ∞
    refused(data[:2] + varint(1) + struct.pack("<d", math.nan) + data[3:])  # … or NaN
    refused(data[:2] + varint(2 * zigzag(2**53 + 1)) + data[3:])           # an integer beyond 2^53
    assert decode(data[:2] + varint(2 * zigzag(-(2**53))) + data[3:], bits=12).min == -(2.0**53)


def test_multi_centroid_digest_with_rice_and_gamma():
    bits, b = 21, 3
    means = [-250.5, 3.0, 3.0, 17.0, 1000.5, 1024.0, 5000.25, 123456.789, 123456.789]
    weights = [1, 1, 1, 5, 5, 20, 20, 1, 2]
    lo, hi = -300.0, 200000.0
    keys = [key_of(m, bits) for m in means]
    assert keys == sorted(keys)
    # The stream holds what the test means: Rice quotients of more than one bit, a weight
    # equal to the one before (one bit), larger weight jumps (several bits).
    assert any((y - x) >> b > 1 for x, y in zip(keys, keys[1:]))
    data = compact_digest(keys, weights, lo, hi, 1234567.5, b=b, bits=bits, rejected=4)
    d = decode(data, bits)
    assert (d.count, d.rejected, d.min, d.max, d.sum) == (sum(weights), 4, lo, hi, 1234567.5)
    assert d.weights == weights
    assert (d.compression, d.scale) == (COMPRESSION, SCALE)
    # Non-negative integers below 2^(B − 11) = 1,024 and powers of two are exact; the rest
    # within 2^−10. A negative mean is not exact even when B bits hold it: its image's low
    # bits are all ones, the rounding carries them into the key, and reversing the image
    # gives the value one binary64 step nearer zero (−250.49999999999997 for −250.5).
    assert d.means[1:4] == [3.0, 3.0, 17.0] and d.means[5] == 1024.0
    assert d.means[0] == math.nextafter(-250.5, 0)
    assert d.means[7] == d.means[8], "equal means stay equal"
    for written, read in zip(means, d.means):
        assert abs(read - written) <= 2**-10 * abs(written), (written, read)
    assert d.means == sorted(d.means)
    assert lo <= d.quantile(0.5) <= hi

    # A digest of one centroid: any rice parameter decodes (b = B here).
    one = compact_digest([key_of(8.0, bits)], [7], 8.0, 8.0, 56.0, b=bits, bits=bits)
    assert (decode(one, bits).means, decode(one, bits).weights) == ([8.0], [7])

    # Refusals.
    def refused(data, match=None):
        with pytest.raises(DecodeError, match=match):
            decode(data, bits)

    refused(compact_digest(keys, weights, lo, hi, 1.0, b=b, bits=bits, count=sum(weights) + 1), "sum")  # sum ≠ count
    refused(compact_digest(keys, weights, lo, hi, 1.0, b=b, bits=bits, count=sum(weights) - 1))
    refused(compact_digest(keys, weights[:-1] + [0], lo, hi, 1.0, b=b, bits=bits, count=sum(weights) - 2),
            "weight out of range")  # weight 0
    refused(compact_digest([keys[0], keys[0]], [1, 2**32], lo, hi, 1.0, b=b, bits=bits),
            "weight out of range")  # weight ≥ 2^32
    top = (1 << bits) - 1
    largest = key_of(math.inf, bits) - 1  # the key of the largest finite means
    assert math.isfinite(mean_from_key(largest, bits))
    refused(compact_digest([largest, top + 1], [1, 1], lo, hi, 1.0, b=2, bits=bits), "not below 2")  # key ≥ 2^B
    refused(compact_digest([largest, top], [1, 1], lo, hi, 1.0, b=2, bits=bits), "not a finite")  # < 2^B: NaN
    refused(compact_digest([largest, largest + 1], [1, 1], lo, hi, 1.0, b=0, bits=bits), "not a finite")  # +∞
    refused(compact_digest([0, 1], [1, 1], lo, hi, 1.0, b=0, bits=bits), "not a finite")  # key 0: a NaN
    refused(compact_digest(keys, weights, lo, hi, 1.0, b=bits + 1, bits=bits), "rice")  # rice parameter > B


def test_means_are_clamped_to_min_and_max():
    bits = 21
    lo, hi = 1000.3, 1000.7  # both round beyond themselves at B = 21 (1000 and 1001)
    keys = [key_of(lo, bits, add=0), key_of(hi, bits, add=(1 << (64 - bits)) - 1)]  # tallyd: min down, max up
    d = decode(compact_digest(keys, [2, 2], lo, hi, 4001.0, b=0, bits=bits), bits)
    assert d.means == [lo, hi], "the clamp gives min and max back exactly"


@pytest.mark.parametrize("bits", [12, 16, 21, 28])
def test_mean_keys_round_within_two_to_the_minus_b_minus_11(bits):
    rng = random.Random(bits)
    values = [rng.uniform(-1e6, 1e6) for _ in range(300)] + [rng.lognormvariate(0, 10) for _ in range(300)]
    for value in values:
        read = mean_from_key(key_of(value, bits), bits)
        assert abs(read - value) <= 2**-(bits - 11) * abs(value), (bits, value, read)
    for n in range(1, 2**(bits - 11)):
        assert mean_from_key(key_of(float(n), bits), bits) == n, "integers below 2^(B − 11) are exact"
    assert mean_from_key(key_of(-0.0, bits), bits) == 0.0


# ------------------------------------------------------------ whole snapshots

def digest_v1(count, values):
    """Version-1 digest bytes of a count-0 or count-1 digest (SNAPSHOT.md, "t-digest bytes (version 1 snapshots)")."""
    head = bytes([1, SCALE]) + struct.pack("<H", COMPRESSION) + varint(count) + varint(0)
    return head + (struct.pack("<d", values[0]) if count == 1 else b"")


def snapshot(version=2, key_bits=21, digests=None, hh=True, heavy_weights=(5.0, 3.0, 0.5), tenants=None, flags=None,
             hlls=None):
    """One series (model "m", ring 0, 1 request of latency 1500) and, when `hh`, one slice of
    heavy hitters: SNAPSHOT.md, "Layout", "Series", "Heavy hitters". With `tenants`, a list of
    (name, estimate, error) in the order to write, flags bit 2 and the slice's tenant part
    (tenant_key "tenant", the same entries by requests and by cost, W = 10; a name of None
    writes tenant_key "" and no summaries)."""
    if digests is None:
        if version == 2:
            digests = [bytes([0, 0])] * 2 + [bytes([1, 0]) + number(1500)] + [bytes([0, 0])] * 4
        else:
            digests = [digest_v1(0, [])] * 2 + [digest_v1(1, [1500.0])] + [digest_v1(0, [])] * 4
    strings = ["", "c", "m"]
    if tenants is not None:
        strings += ["tenant"] + sorted({name for name, _, _ in tenants if name})
    if flags is None:
        flags = (2 if hh else 0) | (4 if tenants is not None else 0)
    out = bytearray(b"TLYS" + bytes([version, flags, 0, 0]))
    out += struct.pack("<QQ", 10_000_000, 20_000_000)
    out += varint(len(strings)) + b"".join(varint(len(s.encode())) + s.encode() for s in strings)
    out += varint(1)                                             # collector "c"
    out += varint(1) + varint(1) + varint(7) + varint(7)         # sequences [("c", 7, 7)]
    out += varint(COMPRESSION) + bytes([SCALE]) + varint(500) + bytes([14])
    if version == 2:
        out += bytes([key_bits])
    out += varint(0)                                             # counters
    out += varint(1)                                             # series
    out += varint(2) + varint(0) * 3 + bytes([0, 0])             # labels, ring 0, no tags
    out += varint(1) + varint(1) + varint(0) * 5                 # requests, status
    # error classes, refusals/escalations/fallbacks, task, feedback, severities, kind mask
    out += varint(0) + varint(0) * 3 + varint(0) * 3 + varint(0) * 2 + varint(0) * 4 + varint(0)
    out += varint(0) + varint(0)                                 # unpriced, cached
    out += b"".join(varint(len(d)) + d for d in digests)
    for hll in hlls or [bytes([0x11, 14, 0])] * 2:               # empty HyperLogLogs
        out += varint(len(hll)) + hll
    out += varint(0) + varint(0)                                 # categories
    if hh:
        total, estimate, error = heavy_weights
        def weight(v):
            if isinstance(v, bytes):
                return v
            return number(v) if version == 2 else struct.pack("<d", v)
        out += varint(1) + varint(2) + varint(0) * 3 + bytes([0]) + varint(4)
        for _ in range(2):
            out += weight(total) + varint(1) + struct.pack("<Q", 0xABCDEF) + weight(estimate) + weight(error)
        if tenants is not None:
            if any(name is None for name, _, _ in tenants):
                out += varint(0)                                 # tenant_key "": no tenant part
            else:
                out += varint(strings.index("tenant"))
                for _ in range(2):
                    out += weight(10.0) + varint(len(tenants))
                    for name, estimate, error in tenants:
                        out += varint(strings.index(name)) + weight(estimate) + weight(error)
    return bytes(out)


def test_a_version_2_snapshot():
    data = snapshot()
    s = decode_snapshot(data)
    assert (s["version"], s["mean_key_bits"], s["compression"], s["scale"]) == (2, 21, COMPRESSION, SCALE)
    assert s["sequences"] == [("c", 7, 7)]
    series = s["series"][0]
    assert series["model"] == "m" and series["requests"] == 1
    latency = series["latency_us"]
    assert (latency.count, latency.min, latency.quantile(0.5)) == (1, 1500, 1500)
    assert (latency.compression, latency.scale) == (COMPRESSION, SCALE)
    assert series["digest_bytes"]["latency_us"] == bytes([1, 0]) + number(1500)
    assert series["digest_bytes"]["ttft_us"] == bytes([0, 0]), "SNAPSHOT.md: an empty digest"
    hitters = s["heavy_hitters"][0]
    assert hitters["capacity"] == 4
    for name in ["users_by_requests", "users_by_cost"]:
        assert hitters[name] == {"total": 5.0, "entries": [(0xABCDEF, 3.0, 0.5)]}

    # mean_key_bits is read from the header and used for every digest.
    latency = compact_digest([key_of(1.5, 28), key_of(2.5, 28)], [1, 1], 1.5, 2.5, 4.0, b=0, bits=28)
    at_28 = decode_snapshot(snapshot(key_bits=28, digests=[bytes([0, 0])] * 2 + [latency] + [bytes([0, 0])] * 4))
    assert at_28["mean_key_bits"] == 28
    assert (at_28["series"][0]["latency_us"].means, at_28["series"][0]["digest_bytes"]["latency_us"]) == \
        ([1.5, 2.5], latency)
    for bad in [0, 11, 29, 64]:
        with pytest.raises(DecodeError):
            decode_snapshot(snapshot(key_bits=bad))
    with pytest.raises(DecodeError):
        decode_snapshot(data + b"\0")
    with pytest.raises(DecodeError):
        decode_snapshot(data[:4] + bytes([3]) + data[5:])
    # A heavy-hitter weight that is not a number: the odd prefix 3, or an escaped NaN.
    with pytest.raises(DecodeError, match="odd"):
        decode_snapshot(snapshot(heavy_weights=(bytes([3]), 3.0, 0.5)))
    with pytest.raises(DecodeError, match="finite"):
        decode_snapshot(snapshot(heavy_weights=(5.0, math.nan, 0.5)))
    # Non-integer weights take the escape (cost in US dollars).
    cost = decode_snapshot(snapshot(heavy_weights=(0.75, 0.5, 0.125)))["heavy_hitters"][0]["users_by_cost"]
    assert cost == {"total": 0.75, "entries": [(0xABCDEF, 0.5, 0.125)]}
    # A v1 digest inside a v2 snapshot is refused (its first byte is a count of 1 …).
    with pytest.raises(DecodeError):
        decode_snapshot(snapshot(digests=[digest_v1(0, [])] * 7))


def test_tenant_parts():
    """SNAPSHOT.md, "Heavy hitters": flags bit 2, tenant_key and tenant summaries keyed by FNV-1a-64 of the name."""
    assert fnv1a64("a") == 0xAF63DC4C8601EC8C, "the FNV-1a-64 test vector"
    assert fnv1a64("") == 0xCBF29CE484222325
    light, heavy = sorted(["acme", "globex"], key=fnv1a64)
    rows = [("initech", 6.0, 0.0), (light, 2.0, 0.0), (heavy, 2.0, 0.0)]   # equal estimates: key ascending
    for version in (1, 2):
        s = decode_snapshot(snapshot(version=version, tenants=rows))
        hitters = s["heavy_hitters"][0]
        assert hitters["tenant_key"] == "tenant"
        assert hitters["tenants_by_requests"] == {"total": 10.0, "entries": rows}
        assert hitters["tenants_by_cost"] == {"total": 10.0, "entries": rows}
    assert "tenants_by_requests" not in decode_snapshot(snapshot(tenants=[(None, 0, 0)]))["heavy_hitters"][0]
    refusals = {
        "keys out of order": [("initech", 6.0, 0.0), (heavy, 2.0, 0.0), (light, 2.0, 0.0)],
        "a name twice": [("initech", 6.0, 0.0), ("initech", 2.0, 0.0)],
        "an estimate over W": [("initech", 11.0, 0.0)],
        "more entries than k = 4": [(f"t{i}", 1.0, 0.0) for i in range(5)],
        "one name spelled twice (U+212B and A + U+030A)": [("\u212b", 6.0, 0.0), ("A\u030a", 2.0, 0.0)],
    }
    for why, bad in refusals.items():
        with pytest.raises(DecodeError):
            decode_snapshot(snapshot(tenants=bad))
            pytest.fail(why)
    with pytest.raises(DecodeError, match="tenant flag"):
        decode_snapshot(snapshot(hh=False, flags=4))
    with pytest.raises(DecodeError):
        decode_snapshot(snapshot(flags=2 | 4))        # announced, not there: the bytes end early
    with pytest.raises(DecodeError):
        decode_snapshot(snapshot(tenants=rows, flags=2))   # there, not announced: trailing bytes
    with pytest.raises(DecodeError, match="flags"):
        decode_snapshot(snapshot(flags=2 | 32))


def test_cost_units_flag():
    """SNAPSHOT.md, "Heavy hitters": with flags bit 3 (version 2) the cost summaries' numbers
    count units of 2^-32 USD; the request summaries' do not."""
    units = (2 ** 31, 2 ** 30, 3)                                  # 0.5 USD, 0.25 USD, 3 units
    s = decode_snapshot(snapshot(heavy_weights=units, flags=2 | 8))
    hitters = s["heavy_hitters"][0]
    assert hitters["users_by_requests"] == {"total": 2.0 ** 31, "entries": [(0xABCDEF, 2.0 ** 30, 3.0)]}
    assert hitters["users_by_cost"] == {"total": 0.5, "entries": [(0xABCDEF, 0.25, 3 * 2.0 ** -32)]}
    # The escape inside units: a binary64 count of units, scaled back exactly.
    s = decode_snapshot(snapshot(heavy_weights=(1.5, 0.75, 0.0), flags=2 | 8))
    assert s["heavy_hitters"][0]["users_by_cost"] == {"total": 1.5 * 2.0 ** -32, "entries": [(0xABCDEF, 0.75 * 2.0 ** -32, 0.0)]}
    rows = [("initech", 6.0, 0.0)]
    hitters = decode_snapshot(snapshot(tenants=rows, flags=2 | 4 | 8))["heavy_hitters"][0]
    assert hitters["tenants_by_requests"] == {"total": 10.0, "entries": rows}
    assert hitters["tenants_by_cost"] == {"total": 10 * 2.0 ** -32, "entries": [("initech", 6 * 2.0 ** -32, 0.0)]}
    with pytest.raises(DecodeError, match="cost-units"):
        decode_snapshot(snapshot(version=1, flags=2 | 8))
    with pytest.raises(DecodeError, match="cost-units"):
        decode_snapshot(snapshot(hh=False, flags=8))


def test_a_version_1_snapshot_reads_as_before():
    s = decode_snapshot(snapshot(version=1))
    assert (s["version"], s["mean_key_bits"]) == (1, None)
    series = s["series"][0]
    assert series["latency_us"].min == 1500 and series["latency_us"].count == 1
    assert series["digest_bytes"]["ttft_us"] == bytes([1, 5, 100, 0, 0, 0]), "SNAPSHOT.md: an empty v1 digest"
    assert s["heavy_hitters"][0]["users_by_cost"] == {"total": 5.0, "entries": [(0xABCDEF, 3.0, 0.5)]}
    # Compact digests are not version 1.
    with pytest.raises(DecodeError):
        decode_snapshot(snapshot(version=1, digests=[bytes([0, 0])] * 7))


def test_cohort_summaries_byte():
    """SNAPSHOT.md, `cohort_summaries` (byte 6): bits of the cohort digests that are summaries;
    refused without a cohort section, for time per output token (bit 3) and for bit 7."""
    plain = decode_snapshot(snapshot())
    assert plain["cohort_summaries"] == []
    for bad in (0x01, 0x08, 0x80):
        data = bytearray(snapshot())
        data[6] = bad
        with pytest.raises(DecodeError, match="cohort_summaries"):
            decode_snapshot(bytes(data))
    data = bytearray(snapshot())
    data[7] = 1
    with pytest.raises(DecodeError, match="reserved"):
        decode_snapshot(bytes(data))


def cohort_snapshot(summaries, latency, version=2):
    """snapshot()'s series and a cohort section of one cohort (model "m", tag m=c, 2
    requests) whose latency digest is `latency` and other digests empty; byte 6 = `summaries`."""
    data = bytearray(snapshot(version=version, hh=False, flags=0x01))  # flags bit 0: cohorts
    data[6] = summaries
    empty = bytes([0, 0]) if version == 2 else digest_v1(0, [])
    digests = [empty, empty, latency] + [empty] * 4
    record = varint(2) + varint(0) * 3 + bytes([0, 1]) + varint(2) + varint(1)   # m, ring 0, tag (m, c)
    record += varint(2) + varint(2) + varint(0) * 5                             # requests 2, all ok
    record += varint(0) + varint(0) * 3 + varint(0) * 3 + varint(0) * 2 + varint(0) * 4 + varint(0)
    record += varint(0) + varint(0)                                             # unpriced, cached
    record += b"".join(varint(len(d)) + d for d in digests)
    record += (varint(3) + bytes([0x11, 14, 0])) * 2
    record += varint(0) + varint(0)                                             # categories
    return bytes(data) + varint(1) + record


def test_lean_summaries():
    """SNAPSHOT.md, "t-digest bytes, compact": with cohort_summaries bit 7 the named digests
    are lean summaries (count, rejected, min, max, sum; the centroid placed by the reader)."""
    lean = bytes([2, 0]) + number(1000) + number(3000) + number(4000)
    s = decode_snapshot(cohort_snapshot(0x80 | 0x04, lean))
    assert s["cohort_summaries"] == ["latency_us"]
    latency = s["cohorts"][0]["latency_us"]
    assert (latency.count, latency.min, latency.max, latency.sum) == (2, 1000, 3000, 4000)
    assert (latency.means, latency.weights, latency.summary) == ([2000.0], [2], True)
    assert latency.quantile(0.5) is None
    # One value: the value alone, as in any compact digest.
    one = decode_snapshot(cohort_snapshot(0x84, bytes([1, 0]) + number(1234)))["cohorts"][0]["latency_us"]
    assert (one.count, one.means, one.weights) == (1, [1234], [1])
    # Past 2^32 − 1 values: equal parts, the larger ones last.
    count = 9_000_000_001
    big = bytes(varint(count)) + bytes([0]) + number(2) + number(4) + number(27_000_000_003)
    many = decode_snapshot(cohort_snapshot(0x84, big))["cohorts"][0]["latency_us"]
    assert many.weights == [3_000_000_000, 3_000_000_000, 3_000_000_001] and many.means == [3.0] * 3
    refusals = {
        "the full form under the lean bit": cohort_snapshot(0x84, compact_digest([key_of(1000.0, 21), key_of(3000.0, 21)],
                                                                                [1, 1], 1000, 3000, 4000, b=0, bits=21)),
        "a lean summary without the lean bit": cohort_snapshot(0x04, lean),
        "min over max": cohort_snapshot(0x84, bytes([2, 0]) + number(3000) + number(1000) + number(4000)),
        "a trailing byte": cohort_snapshot(0x84, lean + bytes([0])),
        "a count past (2^32 − 1) × 4,096": cohort_snapshot(0x84, bytes(varint((2**32 - 1) * 4096 + 1)) + lean[1:]),
        "the lean bit alone": cohort_snapshot(0x80, lean),
        "the lean bit in version 1": cohort_snapshot(0x84, digest_v1(2, [1000.0, 3000.0]), version=1),
    }
    for why, data in refusals.items():
        with pytest.raises(DecodeError):
            decode_snapshot(data)
            pytest.fail(why)


def test_empty_sketches_as_zero_bytes():
    """SNAPSHOT.md, "Empty sketches": with flags bit 4 (version 2) a series' empty digests and
    HyperLogLogs may be zero bytes and read as the empty sketches; without it, or in version
    1, zero bytes are an error."""
    full = decode_snapshot(snapshot())
    digests = [b""] * 2 + [bytes([1, 0]) + number(1500)] + [b""] * 4
    short = decode_snapshot(snapshot(digests=digests, hlls=[b"", b""], flags=0x02 | 0x10))
    for name in ["queue_us", "ttft_us", "latency_us", "tpot_us", "input_tokens", "output_tokens", "cost_usd"]:
        a, b = full["series"][0][name], short["series"][0][name]
        assert (a.count, a.rejected, a.compression, a.scale, a.means) == (b.count, b.rejected, b.compression, b.scale, b.means)
    assert short["series"][0]["ttft_us"].count == 0
    for name in ["users", "sessions"]:
        a, b = full["series"][0][name], short["series"][0][name]
        assert (a.precision, a.exact, a.keys) == (b.precision, b.exact, b.keys) == (14, True, [])
    with pytest.raises(DecodeError):
        decode_snapshot(snapshot(digests=digests, hlls=[b"", b""]))   # zero bytes without bit 4
    with pytest.raises(DecodeError):
        decode_snapshot(snapshot(digests=digests))                    # empty digests alone, still without it
    v1 = [digest_v1(0, [])] * 2 + [digest_v1(1, [1500.0])] + [digest_v1(0, [])] * 4
    with pytest.raises(DecodeError):
        decode_snapshot(snapshot(version=1, digests=v1, flags=0x02 | 0x10))  # bit 4 in version 1
