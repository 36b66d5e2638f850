"""Frames built by the Python library, sent over real sockets to a real tallyd,
come out of its snapshots exactly: every field, per series."""
import random
import time

import pytest

from snapshot_expectations import actual_series, expected_series, key_of_json
from tally_client import TallyClient, identifier_hash
from probes import PROBE_MODEL, wait_connected
from threads import run_together

pytestmark = pytest.mark.timeout(120)

def connect(tallyd, event_time_us, **settings):
    """A client whose connection to tallyd is up."""
    client = TallyClient([tallyd.endpoint], **settings)
    wait_connected(client, event_time_us)
    return client


def random_frame(rng, now_us):
    total = rng.randrange(0, 5_000_000)
    inputs = rng.randrange(0, 20_000)
    cached = rng.randrange(0, inputs + 1)
    outputs = rng.randrange(0, 4_000)
    severity = rng.choice([0, 0, 0, 1, 2, 3, 4])
    kinds = 0
    if severity:
        for bit in rng.sample([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15], rng.randrange(1, 4)):
            kinds |= 1 << bit
    status = rng.choice([0, 0, 0, 0, 1, 2, 3, 4, 5])
    frame = dict(
        event_time_us=now_us,
        model=rng.choice(["llama-3.1-70b", "mistral-7b", "модель-β", "é" * 127 + "x"]),  # 255 bytes
        model_version=rng.choice([None, "v1", "v2"]),
        prompt_version=rng.choice([None, "p7"]),
        route=rng.choice([None, "chat", "summarize"]),
        ring=rng.choice([0, 0, 1, 2]),
        tags=dict(rng.sample([("tenant", "acme"), ("region", "eu"), ("plan", "pro"),
                              ("lang", "日本語")], rng.randrange(0, 3))),
        total_latency_us=total,
        queue_time_us=rng.randrange(0, total + 1),
        ttft_us=rng.choice([None, rng.randrange(0, total + 1)]),
        input_tokens=inputs,
        cached_input_tokens=cached,
        # Revision 1.1: about 2/3 of the frames with cache writes / reasoning tokens, some
        # at their bounds. The snapshot has no sums of them (only the cost, and this
        # tallyd has no price table); that tallyd takes them is checked by every frame
        # being accepted with exact input and output token digests.
        cache_creation_input_tokens=rng.choice([0, inputs - cached,
                                                rng.randrange(0, inputs - cached + 1)]),
        output_tokens=outputs,
        reasoning_output_tokens=rng.choice([0, outputs, rng.randrange(0, outputs + 1)]),
        status=status,
        error_class=rng.choice(["oom", "upstream_5xx"]) if status else None,
        refusal=rng.random() < 0.1, escalation=rng.random() < 0.05, fallback=rng.random() < 0.05,
        task=rng.choice([0, 1, 2]), feedback=rng.choice([0, 0, 1, 2]),
        safety_severity=severity, safety_kinds=kinds,
        user_hash=rng.choice([0, identifier_hash(f"user-{rng.randrange(300)}")]),
        session_hash=rng.choice([0, identifier_hash(f"session-{rng.randrange(500)}")]),
        category_id=rng.choice([None, 0, 3, 17, 65534]),
    )
    return frame


def test_every_field_arrives_exactly(tallyd):
    rng = random.Random(17)
    now_us = time.time_ns() // 1000
    frames = [random_frame(rng, now_us) for _ in range(6_000)]
    assert sum(1 for f in frames if f["cache_creation_input_tokens"]) > 2_000
    assert sum(1 for f in frames if f["reasoning_output_tokens"]) > 2_000
    client = connect(tallyd, now_us)
    for frame in frames:
        client.record(**frame)
    counters = client.close(timeout=10)
    assert counters.frames_dropped == 0, counters
    assert counters.frames_sent == counters.frames_recorded

    snapshots = tallyd.stop()
    assert len(snapshots) == 1, "one event time, one window"
    snapshot = snapshots[0]
    c = snapshot["counters"]
    assert c["frames.accepted"] == counters.frames_sent
    assert c["dropped.late"] == 0 and c["dropped.future"] == 0 and c["frames.folded"] == 0
    assert sum(v for k, v in c.items() if k.startswith("ingest.rejected.")) == 0
    producer = f"producer.{client.producer_id:016x}"
    assert c[producer + ".frames"] == counters.frames_sent
    assert c[producer + ".batches"] == counters.batches_sent

    expected = expected_series(frames)
    actual = {key_of_json(s): s for s in snapshot["series"] if s["model"] != PROBE_MODEL}
    assert set(actual) == set(expected)
    for key, want in expected.items():
        got = actual_series(actual[key])
        # Sums of derived time per output token are floats added in another order.
        assert got.pop("tpot_sum") == pytest.approx(want.pop("tpot_sum"), rel=1e-9, abs=1e-6)
        assert got == want, key


def test_many_threads_into_one_tallyd(tallyd):
    now_us = time.time_ns() // 1000
    client = connect(tallyd, now_us)
    threads, per_thread = 6, 4_000

    def produce(n):
        for i in range(per_thread):
            client.record(model="m", total_latency_us=i, output_tokens=n, tags={"thread": str(n)},
                          event_time_us=now_us)
            if i % 50 == 0:
                # A server thread does other work between requests; a loop that never
                # lets go of the GIL starves the sender thread (then batches are
                # dropped as queue_full, counted).
                time.sleep(0)

    run_together(threads, produce)
    counters = client.close(timeout=10)
    assert counters.frames_dropped == 0, counters
    snapshots = tallyd.stop()
    series = [s for snap in snapshots for s in snap["series"] if s["model"] == "m"]
    by_thread = {s["tags"]["thread"]: s for s in series}
    assert sorted(by_thread) == [str(n) for n in range(threads)]
    for n in range(threads):
        s = by_thread[str(n)]
        assert s["requests"] == per_thread
        assert s["latency_us"]["sum"] == sum(range(per_thread))
        assert s["output_tokens"]["sum"] == n * per_thread
    accepted = sum(snap["counters"]["frames.accepted"] for snap in snapshots)
    assert accepted == counters.frames_sent
