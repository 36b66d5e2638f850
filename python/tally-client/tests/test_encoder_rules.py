"""Frames that break FORMAT.md's rules are refused with the collector's reason and
leave the batch unchanged; full batches stay within their limits."""
import collections
import types

import pytest

from tally_client import (
    BatchEncoder, FrameError, SafetyKind, Severity, Status, TallyClient, TraceFrame,
)
from tally_client.encoder import FRAME, HEADER_LENGTH, MAX_STRINGS
from tallyd_process import free_port
from test_spec_conformance import append

GOOD = dict(event_time_us=1, model="m", total_latency_us=100)


@pytest.mark.parametrize("fields, reason", [
    (dict(model=None), "string_ref_out_of_range"),
    (dict(model=""), "bad_string"),
    (dict(model="x" * 256), "bad_string"),
    (dict(model="é" * 128), "bad_string"),           # 256 UTF-8 bytes
    (dict(route="\udc80"), "bad_string"),              # a lone surrogate is not UTF-8
    (dict(model_version=7), "bad_string"),
    (dict(tags={"k": ""}), "bad_string"),
    (dict(tags=[(f"k{i}", "v") for i in range(9)]), "too_many_tags"),
    (dict(tags=[("k", "a"), ("k", "b")]), "duplicate_tag_key"),
    (dict(ttft_us=101), "value_out_of_range"),
    (dict(ttft_us=0xFFFFFFFF, total_latency_us=0xFFFFFFFF), "value_out_of_range"),
    (dict(queue_time_us=101), "value_out_of_range"),
    (dict(input_tokens=1, cached_input_tokens=2), "value_out_of_range"),
    # Revision 1.1: cache reads + cache writes <= input (as a sum); reasoning <= output.
    (dict(input_tokens=10, cached_input_tokens=4, cache_creation_input_tokens=7),
     "value_out_of_range"),
    (dict(input_tokens=10, cache_creation_input_tokens=11), "value_out_of_range"),
    (dict(cache_creation_input_tokens=1), "value_out_of_range"),  # input 0
    (dict(input_tokens=2**32 - 1, cached_input_tokens=2**32 - 1, cache_creation_input_tokens=1),
     "value_out_of_range"),                                      # the sum does not wrap at 2^32
    (dict(input_tokens=2**32 - 1, cached_input_tokens=2**31, cache_creation_input_tokens=2**31),
     "value_out_of_range"),
    (dict(input_tokens=10, cache_creation_input_tokens=-1), "value_out_of_range"),
    (dict(input_tokens=10, cached_input_tokens=5, cache_creation_input_tokens=-1),
     "value_out_of_range"),
    (dict(input_tokens=10, cache_creation_input_tokens=2.0), "value_out_of_range"),
    (dict(output_tokens=5, reasoning_output_tokens=6), "value_out_of_range"),
    (dict(reasoning_output_tokens=1), "value_out_of_range"),      # output 0
    (dict(output_tokens=2**32 - 1, reasoning_output_tokens=2**32), "value_out_of_range"),
    (dict(output_tokens=5, reasoning_output_tokens=-1), "value_out_of_range"),
    (dict(output_tokens=5, reasoning_output_tokens=1.5), "value_out_of_range"),
    (dict(status=6), "value_out_of_range"),
    (dict(status="failed"), "value_out_of_range"),
    (dict(ring=3), "value_out_of_range"),
    (dict(task=3), "value_out_of_range"),
    (dict(feedback="meh"), "value_out_of_range"),
    (dict(safety_severity=5), "value_out_of_range"),
    (dict(safety_severity="low"), "value_out_of_range"),         # severity without kinds
    (dict(safety_kinds=SafetyKind.HATE), "value_out_of_range"),   # kinds without severity
    (dict(safety_severity="low", safety_kinds=1 << 10), "reserved_bits_set"),
    (dict(safety_severity="low", safety_kinds=["rudeness"]), "value_out_of_range"),
    (dict(category_id=0xFFFF), "value_out_of_range"),
    (dict(category_id=0x10000), "value_out_of_range"),
    (dict(total_latency_us=-1), "value_out_of_range"),
    (dict(total_latency_us=2**32), "value_out_of_range"),
    (dict(input_tokens=2**32), "value_out_of_range"),
    (dict(event_time_us=2**64), "value_out_of_range"),
    (dict(user_hash=-5), "value_out_of_range"),
    (dict(output_tokens=1.5), "value_out_of_range"),
])
def test_a_bad_frame_is_refused_with_its_reason_and_the_batch_is_unchanged(fields, reason):
    encoder = BatchEncoder(producer_id=3)
    assert append(encoder, **GOOD, route="r", tags={"a": "b"})
    before = encoder.byte_count
    with pytest.raises(FrameError) as refused:
        append(encoder, **{**GOOD, **fields})
    assert refused.value.reason == reason
    assert encoder.byte_count == before and encoder.frame_count == 1
    # Strings interned by the refused frame were rolled back: the batch is the same
    # as one that never saw it.
    clean = BatchEncoder(producer_id=3)
    append(clean, **GOOD, route="r", tags={"a": "b"})
    assert encoder.finish(5) == clean.finish(5)


def test_enums_names_and_integers_encode_alike():
    by_enum, by_name, by_int = (BatchEncoder() for _ in range(3))
    append(by_enum, **GOOD, status=Status.RATE_LIMITED, safety_severity=Severity.MEDIUM,
           safety_kinds=SafetyKind.PRIVACY | SafetyKind.HATE)
    append(by_name, **GOOD, status="rate_limited", safety_severity="medium", safety_kinds=["privacy", "hate"])
    append(by_int, **GOOD, status=3, safety_severity=2, safety_kinds=0b100_0001)
    assert by_enum.finish(0) == by_name.finish(0) == by_int.finish(0)


def test_tags_come_from_any_mapping_or_pairs():
    batches = []
    for tags in ({"tenant": "acme", "region": "eu"},
                 collections.OrderedDict([("tenant", "acme"), ("region", "eu")]),
                 types.MappingProxyType({"tenant": "acme", "region": "eu"}),
                 [("tenant", "acme"), ("region", "eu")]):
        encoder = BatchEncoder()
        assert append(encoder, **GOOD, tags=tags)
        batches.append(encoder.finish(0))
    assert len(set(batches)) == 1


def test_a_full_batch_says_so_and_never_exceeds_its_capacity():
    encoder = BatchEncoder(capacity=1024)
    frames = 0
    while append(encoder, **GOOD, tags={"tenant": f"t{frames % 3}"}):
        frames += 1
    # 40 header + n × (76 + 4 for the tag) + strings ("m", "tenant", "t0".."t2":
    # 2+7+3×3 = 18) ≤ 1024.
    assert frames == (1024 - HEADER_LENGTH - 18) // 80
    assert len(encoder.finish(0)) <= 1024
    assert encoder.frame_count == frames


def test_the_string_table_limit_ends_a_batch():
    encoder = BatchEncoder(capacity=1_048_576)
    frames = 0
    while append(encoder, **GOOD, tags={f"k{i}": f"{frames}-{i}" for i in range(8)}):
        frames += 1
    # "m", k0..k7, then 8 new values per frame: the 4096th string does not fit.
    assert frames == (MAX_STRINGS - 9) // 8
    assert int.from_bytes(encoder.finish(0)[18:20], "little") <= MAX_STRINGS


def test_a_frame_too_large_for_an_empty_batch_is_over_limit():
    encoder = BatchEncoder(capacity=1024)
    with pytest.raises(FrameError) as refused:
        append(encoder, **GOOD, tags={f"k{i}": f"{i}" + "v" * 119 for i in range(8)})
    assert refused.value.reason == "over_limit"
    assert encoder.frame_count == 0 and encoder.byte_count == HEADER_LENGTH


# Revision 1.1's token rules at their boundaries.

BOUNDARY_FRAMES = [
    dict(input_tokens=10, cached_input_tokens=4, cache_creation_input_tokens=6),  # sum == input
    dict(input_tokens=10, cache_creation_input_tokens=10),                        # all written
    dict(input_tokens=2**32 - 1, cached_input_tokens=2**31, cache_creation_input_tokens=2**31 - 1),
    dict(output_tokens=7, reasoning_output_tokens=7),                             # all reasoning
    dict(output_tokens=2**32 - 1, reasoning_output_tokens=2**32 - 1),
    dict(input_tokens=3, cached_input_tokens=1, cache_creation_input_tokens=2,
         output_tokens=9, reasoning_output_tokens=9),
]
ONE_OVER_FRAMES = [
    dict(input_tokens=10, cached_input_tokens=4, cache_creation_input_tokens=7),
    dict(input_tokens=10, cache_creation_input_tokens=11),
    dict(input_tokens=2**32 - 1, cached_input_tokens=2**31, cache_creation_input_tokens=2**31),
    dict(output_tokens=7, reasoning_output_tokens=8),
    dict(output_tokens=2**32 - 1, reasoning_output_tokens=2**32),
    dict(input_tokens=3, cached_input_tokens=1, cache_creation_input_tokens=3,
         output_tokens=9, reasoning_output_tokens=9),
]


@pytest.mark.parametrize("fields", BOUNDARY_FRAMES)
def test_token_parts_equal_to_their_whole_are_accepted(fields):
    encoder = BatchEncoder()
    assert append(encoder, **GOOD, **fields)
    frame = FRAME.unpack_from(encoder.finish(0), HEADER_LENGTH)
    assert frame[6:9] == (fields.get("input_tokens", 0), fields.get("output_tokens", 0),
                          fields.get("cached_input_tokens", 0))
    assert frame[-2:] == (fields.get("cache_creation_input_tokens", 0),
                          fields.get("reasoning_output_tokens", 0))


def test_record_counts_token_rule_breaks_as_invalid_and_never_raises():
    client = TallyClient([f"tcp://127.0.0.1:{free_port()}"])  # nothing listens there
    try:
        for fields in BOUNDARY_FRAMES:
            client.record(**GOOD, **fields)
            client.record_frame(TraceFrame(**GOOD, **fields))
        assert client.counters.dropped["invalid_frame"] == 0
        assert client.last_invalid_frame_error is None
        for fields in ONE_OVER_FRAMES:
            client.record(**GOOD, **fields)        # returns: no exception on the hot path
            client.record_frame(TraceFrame(**GOOD, **fields))
        assert client.counters.dropped["invalid_frame"] == 2 * len(ONE_OVER_FRAMES)
        error = client.last_invalid_frame_error
        assert isinstance(error, FrameError)
        assert (error.reason, error.field) == ("value_out_of_range", "cache_creation_input_tokens")
        client.record(**GOOD, output_tokens=7, reasoning_output_tokens=8)
        error = client.last_invalid_frame_error
        assert (error.reason, error.field) == ("value_out_of_range", "reasoning_output_tokens")
        # Not a u32, not an int at all: counted the same way.
        client.record(**GOOD, input_tokens=5, cache_creation_input_tokens=-1)
        client.record(**GOOD, output_tokens=5, reasoning_output_tokens="3")
        client.record(**GOOD, input_tokens=5, cache_creation_input_tokens=None)
        assert client.counters.dropped["invalid_frame"] == 2 * len(ONE_OVER_FRAMES) + 4
    finally:
        counters = client.close(timeout=0)
    assert counters.frames_recorded == 2 * len(BOUNDARY_FRAMES) + 2 * len(ONE_OVER_FRAMES) + 4
    assert counters.frames_recorded == counters.frames_sent + counters.frames_dropped
