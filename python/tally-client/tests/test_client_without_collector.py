"""The client's promises when no collector listens: record never raises or blocks,
drops are counted by reason, close honours its timeout, and after close
recorded == sent + dropped exactly."""
import threading
import time

import pytest
import zmq

from tally_client import DROP_REASONS, FrameError, TallyClient, TraceFrame
from tallyd_process import free_port
from threads import run_together


@pytest.fixture
def absent_endpoint():
    return f"tcp://127.0.0.1:{free_port()}"  # nothing listens there


def assert_balanced(counters):
    assert counters.frames_recorded == counters.frames_sent + counters.frames_dropped
    assert counters.frames_buffered == 0


def test_drops_are_counted_and_close_honours_its_timeout(absent_endpoint):
    client = TallyClient([absent_endpoint])
    for i in range(10_000):
        client.record(model="m", total_latency_us=1000 + i, tags={"tenant": f"t{i % 5}"})
    started = time.monotonic()
    counters = client.close(timeout=0.5)
    elapsed = time.monotonic() - started
    assert elapsed < 0.5 + 1.5, f"close took {elapsed:.2f} s"
    assert counters.frames_recorded == 10_000 and counters.frames_sent == 0
    assert counters.dropped["collector_unavailable"] + counters.dropped["close_timeout"] == 10_000
    assert_balanced(counters)


def test_close_with_zero_timeout_returns_at_once(absent_endpoint):
    client = TallyClient([absent_endpoint], max_batch_age_ms=10_000)  # nothing sealed by age
    for _ in range(1000):
        client.record(model="m", total_latency_us=1)
    started = time.monotonic()
    counters = client.close(timeout=0)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"close took {elapsed:.2f} s"  # a busy 2-core machine: slack
    assert counters.frames_sent == 0 and counters.frames_recorded == 1000
    assert_balanced(counters)


def test_flush_waits_for_the_collector_up_to_its_timeout(absent_endpoint):
    client = TallyClient([absent_endpoint], max_batch_age_ms=10_000)
    client.record(model="m", total_latency_us=1)
    started = time.monotonic()
    # The batch waits for a collector until the deadline, then it is dropped. (Whether
    # flush saw that before its own deadline passed is a race: it may return False.)
    client.flush(timeout=0.3)
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 1.5, f"flush took {elapsed:.2f} s"
    counters = client.close(timeout=0)
    assert counters.dropped["collector_unavailable"] == 1 and counters.frames_sent == 0
    assert_balanced(counters)


BAD_VALUES = [
    dict(),                                            # no model
    dict(model=""),
    dict(model="m", total_latency_us=-1),
    dict(model="m", total_latency_us="fast"),
    dict(model="m", total_latency_us=None),
    dict(model="m", total_latency_us=10, ttft_us=11),
    dict(model="m", status="exploded"),
    dict(model="m", status=[1]),                       # unhashable
    dict(model="m", tags={"a": 1}),
    dict(model="m", tags="tenant=acme"),
    dict(model="m", tags=[("a",)]),
    dict(model="m", safety_kinds=object()),
    dict(model="m", event_time_us=-1),
    dict(model="m", user_id=12345),                    # ids are str or bytes
    dict(model="m" * 300),
    dict(model="m", category_id="7"),
    dict(model="m", input_tokens=4, cached_input_tokens=2, cache_creation_input_tokens=3),
    dict(model="m", output_tokens=4, reasoning_output_tokens=5),
    dict(model="m", reasoning_output_tokens=-1),
]


def test_bad_values_never_raise_and_are_counted(absent_endpoint):
    with TallyClient([absent_endpoint]) as client:
        for fields in BAD_VALUES:
            client.record(**fields)
        client.record_frame(TraceFrame(model="m", total_latency_us=5, queue_time_us=6))
        client.record_frame("not a frame")
        client.record(model="good", total_latency_us=1)
        counters = client.counters
        assert counters.dropped["invalid_frame"] == len(BAD_VALUES) + 2
        assert counters.frames_recorded == len(BAD_VALUES) + 3
        assert isinstance(client.last_invalid_frame_error, TypeError)
    assert_balanced(client.counters)


def test_the_last_invalid_frame_error_names_the_rule(absent_endpoint):
    with TallyClient([absent_endpoint]) as client:
        client.record(model="m", total_latency_us=10, queue_time_us=20)
        error = client.last_invalid_frame_error
        assert isinstance(error, FrameError)
        assert (error.reason, error.field) == ("value_out_of_range", "queue_time_us")


def test_records_after_close_are_counted_as_closed(absent_endpoint):
    client = TallyClient([absent_endpoint])
    client.record(model="m", total_latency_us=1)
    client.close(timeout=0.1)
    client.record(model="m", total_latency_us=1)
    client.record(model="m", total_latency_us=1)
    counters = client.close(timeout=0.1)  # idempotent
    assert counters.dropped["closed"] == 2 and counters.frames_recorded == 3
    assert_balanced(counters)


def test_a_stalled_sender_drops_whole_batches_as_queue_full(absent_endpoint):
    client = TallyClient([absent_endpoint], batch_bytes=1024, queue_depth=2)
    release = threading.Event()
    real_send = client._send

    def stalled_send(data, deadline_ns):  # the network "hangs" until released
        release.wait(10)
        return real_send(data, deadline_ns)

    client._send = stalled_send
    per_batch = (1024 - 40 - 2) // 76  # frames without tags; the string "m"
    for _ in range(20 * per_batch):
        client.record(model="m", total_latency_us=1)  # never waits for the stalled sender
    queue_full = client.counters.dropped["queue_full"]
    # At most: one batch being sent, two waiting, one being filled.
    assert queue_full >= 16 * per_batch and queue_full % per_batch == 0
    release.set()
    counters = client.close(timeout=1.0)
    assert counters.dropped["queue_full"] == queue_full
    assert_balanced(counters)


def test_many_threads_recording_at_once_balance_exactly(absent_endpoint):
    client = TallyClient([absent_endpoint], batch_bytes=4096)
    threads, per_thread = 8, 3_000

    def produce(n):
        for i in range(per_thread):
            client.record(model=f"m{n}", total_latency_us=i, tags={"thread": str(n)})
            if i % 500 == 0:
                client.record(model="", total_latency_us=1)  # invalid, counted

    run_together(threads, produce)
    counters = client.close(timeout=0.5)
    assert counters.frames_recorded == threads * (per_thread + per_thread // 500)
    assert counters.dropped["invalid_frame"] == threads * (per_thread // 500)
    assert set(counters.dropped) == set(DROP_REASONS)
    assert_balanced(counters)


def test_a_malformed_endpoint_is_an_error_at_construction():
    with pytest.raises(zmq.ZMQError):
        TallyClient(["nonsense://x"])
    with pytest.raises(ValueError):
        TallyClient([])
    with pytest.raises(ValueError):
        TallyClient(["tcp://127.0.0.1:1"], batch_bytes=100)
    with pytest.raises(ValueError):
        TallyClient(["tcp://127.0.0.1:1"], max_batch_age_ms=0)

