"""The encoder against FORMAT.md itself: its example byte for byte (read from the spec
file, so spec and code cannot drift apart), a batch built from the tables with every
field set, and the identifier hash's published values."""
import os
import re

import pytest

from tally_client import BatchEncoder, identifier_hash
from wire_bytes import WireBytes

FORMAT_MD = os.path.join(os.path.dirname(__file__), "..", "..", "..", "Sources", "TallyWire", "FORMAT.md")


def format_example_bytes():
    """The hex dump under "## Example" in FORMAT.md: the hex pairs before each line's
    comment (a comment starts after two or more spaces)."""
    with open(FORMAT_MD, encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Example", 1)[1]
    block = section.split("```", 2)[1]
    data = bytearray()
    for line in block.splitlines():
        if line.startswith("--") or not line.strip():
            continue
        hex_part = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        data += bytes(int(pair, 16) for pair in hex_part.split())
    return bytes(data)


def append(encoder, **fields):
    """BatchEncoder.append with TallyClient.record's defaults."""
    frame = dict(event_time_us=0, model=None, model_version=None, prompt_version=None, route=None,
                 ring=0, tags=None, queue_time_us=0, ttft_us=None, total_latency_us=0,
                 input_tokens=0, output_tokens=0, cached_input_tokens=0, status=0, error_class=None,
                 refusal=False, escalation=False, fallback=False, task=0, feedback=0,
                 safety_severity=0, safety_kinds=0, user_hash=0, session_hash=0, category_id=None)
    frame.update(fields)
    return encoder.append(**frame)


def test_format_example_is_reproduced_byte_for_byte():
    expected = format_example_bytes()
    assert len(expected) == 118  # "40 + 68 + 4 + 6 = 118 bytes"
    encoder = BatchEncoder(producer_id=7)
    assert append(encoder, event_time_us=100_000_000, model="m", tags={"t": "v"}, queue_time_us=10,
                  total_latency_us=1000, input_tokens=5, output_tokens=7)
    assert encoder.finish(0) == expected


def test_every_field_lands_where_the_tables_say():
    strings = ["gpt-x", "v2", "p9", "chat", "timeout_upstream", "tenant", "acme", "region", "eu", "ü-ß"]
    frames = WireBytes()
    for i in range(2):
        frames.u64(1_700_000_000_000_000 + i)   # 0 event_time
        frames.u64(0xDEADBEEF)                  # 8 user_hash
        frames.u64(0xFEED + i)                  # 16 session_hash
        frames.u32(500)                         # 24 queue_time
        frames.u32(40_000)                      # 28 time_to_first_token
        frames.u32(90_000)                      # 32 total_latency
        frames.u32(300)                         # 36 input_tokens
        frames.u32(120)                         # 40 output_tokens
        frames.u32(100)                         # 44 cached_input_tokens
        frames.u16(0); frames.u16(1); frames.u16(2); frames.u16(3)   # 48 model, version, prompt, route
        frames.u16(4)                           # 56 error_class
        frames.u16(12)                          # 58 category_id
        frames.u8(2)                            # 60 status = timeout
        frames.u8(1)                            # 61 ring = canary
        frames.u8(0b0101_0011)                  # 62 refusal, escalation, task failure, feedback down
        frames.u8(3)                            # 63 severity high
        frames.u16(1 << 7 | 1 << 15)            # 64 kinds prompt_injection | other
        frames.u8(3)                            # 66 tag_count
        frames.u8(0)                            # 67 reserved
        frames.u16(5); frames.u16(6)            # tenant=acme
        frames.u16(7); frames.u16(8)            # region=eu
        frames.u16(9); frames.u16(6)            # ü-ß=acme (a shared value string)
    table = WireBytes()
    for s in strings:
        table.string(s)
    batch = WireBytes()
    batch.data += b"TLYB"
    batch.u8(1); batch.u8(0); batch.u16(40)
    batch.u32(40 + len(frames.data) + len(table.data))
    batch.u32(40 + len(frames.data))
    batch.u16(2); batch.u16(len(strings)); batch.u16(68); batch.u16(0)
    batch.u64(0x0102030405060708)
    batch.u64(41)
    expected = bytes(batch.data + frames.data + table.data)

    encoder = BatchEncoder(producer_id=0x0102030405060708)
    for i in range(2):
        assert append(
            encoder, event_time_us=1_700_000_000_000_000 + i, user_hash=0xDEADBEEF,
            session_hash=0xFEED + i, queue_time_us=500, ttft_us=40_000, total_latency_us=90_000,
            input_tokens=300, output_tokens=120, cached_input_tokens=100, model="gpt-x",
            model_version="v2", prompt_version="p9", route="chat", error_class="timeout_upstream",
            category_id=12, status="timeout", ring="canary", refusal=True, escalation=True,
            task="failure", feedback="down", safety_severity="high",
            safety_kinds=["prompt_injection", "other"],
            tags=[("tenant", "acme"), ("region", "eu"), ("ü-ß", "acme")])
    assert encoder.finish(41) == expected


@pytest.mark.parametrize("identifier, expected", [
    ("", 0xCBF29CE484222325),        # the offset basis: no bytes hashed
    ("a", 0xAF63DC4C8601EC8C),        # FNV-1a 64 test vectors (Fowler, Noll, Vo)
    ("foobar", 0x85944171F73967E8),
])
def test_identifier_hash_is_fnv1a_64(identifier, expected):
    assert identifier_hash(identifier) == expected
    assert identifier_hash(identifier.encode("utf-8")) == expected


def test_identifier_hash_uses_utf8_and_a_secret_prefix():
    # By hand: FNV-1a over the bytes c3 a9 ("é" in UTF-8).
    h = 0xCBF29CE484222325
    for byte in (0xC3, 0xA9):
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    assert identifier_hash("é") == h
    assert identifier_hash("user-1", secret="fleet-secret:") == identifier_hash("fleet-secret:user-1")
    assert identifier_hash("user-1", secret="x") != identifier_hash("user-1")


def test_a_hash_of_zero_is_sent_as_one():
    # These 8 bytes are an FNV-1a 64 preimage of 0 (listed on the FNV authors' page);
    # checked here by the raw recurrence, then the mapping of FORMAT.md.
    data = bytes.fromhex("d56bb95342870836")
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    assert h == 0
    assert identifier_hash(data) == 1
