"""The encoder against FORMAT.md itself (revision 1.1): its example byte for byte (typed
in here, and read from the spec file, so spec and code cannot drift apart), a batch
built from the tables with every field set, and the identifier hash's published values."""
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
                 input_tokens=0, output_tokens=0, cached_input_tokens=0,
                 cache_creation_input_tokens=0, reasoning_output_tokens=0, status=0,
                 error_class=None, refusal=False, escalation=False, fallback=False, task=0,
                 feedback=0, safety_severity=0, safety_kinds=0, user_hash=0, session_hash=0,
                 category_id=None)
    frame.update(fields)
    return encoder.append(**frame)


#: FORMAT.md, "Example" (revision 1.1), typed in from the spec: one frame (model "m",
#: one tag t=v, every optional field absent), producer 7, sequence 0. 40 + 76 + 4 + 6 =
#: 126 bytes.
FORMAT_EXAMPLE = bytes.fromhex(
    "54 4C 59 42 01 00 28 00 7E 00 00 00 78 00 00 00"  # TLYB, v1, flags, header 40, batch 126, strings at 120
    "01 00 03 00 4C 00 00 00 07 00 00 00 00 00 00 00"  # 1 frame, 3 strings, frame_length 76, reserved, producer 7
    "00 00 00 00 00 00 00 00"                          # sequence 0
    # frame 0 at offset 40
    "00 E1 F5 05 00 00 00 00"                          # event_time 100,000,000 us
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"  # user_hash 0, session_hash 0
    "0A 00 00 00 FF FF FF FF E8 03 00 00"              # queue 10, ttft absent, total_latency 1000
    "05 00 00 00 07 00 00 00 00 00 00 00"              # input 5, output 7, cached 0
    "00 00 FF FF FF FF FF FF FF FF FF FF"              # model 0, no version/prompt/route/error, no category
    "00 00 00 00 00 00 01 00"                          # ok, stable, outcome 0, severity 0, kinds 0, 1 tag, reserved
    "00 00 00 00 00 00 00 00"                          # cache writes 0, reasoning 0 (revision 1.1)
    "01 00 02 00"                                      # tag: key ref 1, value ref 2
    # string table at offset 120
    "01 6D 01 74 01 76"                                # "m", "t", "v"
)


def test_format_example_is_reproduced_byte_for_byte():
    assert len(FORMAT_EXAMPLE) == 126  # "40 + 76 + 4 + 6 = 126 bytes"
    # The spec file says the same as the bytes typed in above.
    assert format_example_bytes() == FORMAT_EXAMPLE
    encoder = BatchEncoder(producer_id=7)
    assert append(encoder, event_time_us=100_000_000, model="m", tags={"t": "v"}, queue_time_us=10,
                  total_latency_us=1000, input_tokens=5, output_tokens=7)
    assert encoder.finish(0) == FORMAT_EXAMPLE


def test_revision_1_1_fields_are_frame_bytes_68_to_75_and_tags_follow():
    def batch(cache_writes, reasoning):
        encoder = BatchEncoder(producer_id=7)
        assert append(encoder, event_time_us=100_000_000, model="m", tags={"t": "v"},
                      total_latency_us=1000, input_tokens=0xFFFFFFFF, cached_input_tokens=0x10,
                      cache_creation_input_tokens=cache_writes, output_tokens=0xFFFFFFFF,
                      reasoning_output_tokens=reasoning)
        return encoder.finish(0)

    data = batch(0x01020304, 0x0A0B0C0D)
    assert data[20:22] == bytes([0x4C, 0x00])                    # frame_length 76
    assert len(data) == 40 + 76 + 4 + 6
    frame = data[40:40 + 76 + 4]
    assert frame[68:72] == bytes([0x04, 0x03, 0x02, 0x01])       # cache_creation_input_tokens
    assert frame[72:76] == bytes([0x0D, 0x0C, 0x0B, 0x0A])       # reasoning_output_tokens
    assert frame[76:80] == bytes([0x01, 0x00, 0x02, 0x00])       # tag t=v at frame_start + 76
    # Nothing else moves: the same frame with both at 0 differs in bytes 68-75 only.
    zero = batch(0, 0)
    assert zero[:40 + 68] == data[:40 + 68] and zero[40 + 76:] == data[40 + 76:]
    assert zero[40 + 68:40 + 76] == bytes(8)


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
        frames.u32(0x0102_0304 if i else 120)   # 40 output_tokens
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
        frames.u32(150 + i)                     # 68 cache_creation_input_tokens (100 + 151 <= 300)
        frames.u32(0xC0_FFEE if i else 80)      # 72 reasoning_output_tokens (<= output)
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
    batch.u16(2); batch.u16(len(strings)); batch.u16(76); batch.u16(0)
    batch.u64(0x0102030405060708)
    batch.u64(41)
    expected = bytes(batch.data + frames.data + table.data)

    encoder = BatchEncoder(producer_id=0x0102030405060708)
    for i in range(2):
        assert append(
            encoder, event_time_us=1_700_000_000_000_000 + i, user_hash=0xDEADBEEF,
            session_hash=0xFEED + i, queue_time_us=500, ttft_us=40_000, total_latency_us=90_000,
            input_tokens=300, output_tokens=0x0102_0304 if i else 120, cached_input_tokens=100,
            cache_creation_input_tokens=150 + i, reasoning_output_tokens=0xC0_FFEE if i else 80,
            model="gpt-x", model_version="v2", prompt_version="p9", route="chat",
            error_class="timeout_upstream",
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
