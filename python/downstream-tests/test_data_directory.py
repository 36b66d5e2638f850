"""A real tallyd's data directory and JSON lines, read with nothing but STORAGE.md,
SNAPSHOT.md and the JSON Schema, hold exactly what the Python producer sent."""
import json
import math
import os
import random
import time
from collections import Counter

import pytest

from downstream_tallyd import PRICES
from sending import PROBE_MODEL, by_series, connected_client, labels_of_json, labels_of_series
from tally_snapshot import decode_snapshot, fmix64, label_key, register_of
from tally_storage import FILE_NAME, read_records, snapshot_files

pytestmark = pytest.mark.timeout(180)

SCHEMA = os.path.join(os.path.dirname(__file__), "..", "..", "Sources", "TallyCore", "snapshot-line.schema.json")
P = 14  # tallyd's HyperLogLog precision (checked against the snapshot's sketch parameters)


def make_frames(rng, event_time_us):
    """Frames chosen to exercise every clarified rule: priced and unpriced models, failed
    requests, error classes on any status, hash 0, > 64 categories, no category, a
    series without TTFT or users, a dense session sketch."""
    frames = []
    category_order = rng.sample(range(0, 65_535), 80)
    for i in range(2_400):
        total = rng.randrange(1_000, 3_000_000)
        inputs = rng.randrange(0, 8_000)
        status = rng.choice([0, 0, 0, 1, 2, 3, 4, 5])
        frames.append(dict(
            event_time_us=event_time_us, model="priced-model", route="chat",
            ring=rng.choice([0, 1]), tags=rng.choice([{}, {"tenant": "acme"}, {"tenant": "zeta", "plan": "pro"}]),
            total_latency_us=total, queue_time_us=rng.randrange(0, total // 10),
            ttft_us=rng.choice([None, rng.randrange(0, total)]),
            input_tokens=inputs, cached_input_tokens=rng.randrange(0, inputs + 1),
            output_tokens=rng.randrange(0, 2_000), status=status,
            error_class=rng.choice([None, "oom", "upstream_5xx", "bad_tool_call"]) if status else
            rng.choice([None, None, None, "retried"]),
            refusal=rng.random() < 0.1, escalation=rng.random() < 0.05, fallback=rng.random() < 0.05,
            task=rng.choice([0, 1, 2]), feedback=rng.choice([0, 0, 1, 2]),
            user_hash=0 if rng.random() < 0.2 else rng.choice(USER_HASHES),
            session_hash=rng.choice(SESSION_HASHES),
            category_id=None if rng.random() < 0.1 else category_order[min(i // 20, 79)]))
    for i in range(300):
        total = rng.randrange(1_000, 900_000)
        frames.append(dict(
            event_time_us=event_time_us, model="free-model", model_version="v2", total_latency_us=total,
            input_tokens=rng.randrange(0, 100), output_tokens=rng.randrange(0, 100), status=rng.choice([0, 1])))
    for session_hash in DENSE_SESSION_HASHES:  # > 2^P/16 distinct sessions in one series: a dense sketch
        frames.append(dict(
            event_time_us=event_time_us, model="free-model", model_version="v3",
            total_latency_us=rng.randrange(1_000, 900_000), input_tokens=rng.randrange(0, 100),
            output_tokens=rng.randrange(0, 100), status=0, session_hash=session_hash))
    rng.shuffle(frames)  # arrival order differs from generation order; categories follow arrival
    return frames


def escape_hashes(count, seed):
    """Hashes whose mixed hash has bits p…27 zero (1 in 65,536): their exact-form keys
    carry a register value."""
    rng, found = random.Random(seed), []
    while len(found) < count:
        h = rng.getrandbits(64) | 1
        if (fmix64(h) >> P) & (2**(28 - P) - 1) == 0:
            found.append(h)
    return found


_users = random.Random(1)
USER_HASHES = [_users.getrandbits(64) | 1 for _ in range(148)] + escape_hashes(2, seed=3)
SESSION_HASHES = [random.Random(2 + i).getrandbits(64) | 1 for i in range(1_500)]
DENSE_SESSION_HASHES = [random.Random(100_000 + i).getrandbits(64) | 1 for i in range(1_300)]


def expected_cost(frame):
    price = PRICES.get(frame["model"])
    if price is None:
        return None
    cached = min(frame.get("cached_input_tokens", 0), frame.get("input_tokens", 0))
    return ((frame.get("input_tokens", 0) - cached) * price[0] + cached * price[1]
            + frame.get("output_tokens", 0) * price[2]) / 1_000_000


def merge_series(snapshots):
    """Series of several snapshots merged by labels (SNAPSHOT.md merge for the exact parts)."""
    merged = {}
    for snapshot in snapshots:
        for s in snapshot["series"]:
            merged.setdefault(labels_of_series(s), []).append(s)
    return merged


def test_stored_snapshots_hold_what_was_sent(start_tallyd, jsonschema):
    tallyd = start_tallyd(window_seconds=10, allowed_lateness_seconds=10)
    now_us = time.time_ns() // 1000
    frames = make_frames(random.Random(15), now_us)
    client = connected_client(tallyd.endpoint, now_us)
    for frame in frames:
        client.record(**frame)
    counters = client.close(timeout=10)
    assert counters.frames_dropped == 0 and counters.frames_sent == counters.frames_recorded
    tallyd.stop()

    # --- the data directory (STORAGE.md) ---
    files = snapshot_files(tallyd.data_directory)
    assert files, "no snapshot file"
    records, torn = read_records(tallyd.data_directory)
    assert torn == 0 and records
    for name, first in files:
        assert FILE_NAME.match(name)
        in_file = [r for r in records if os.path.basename(r.path) == name]
        assert in_file and in_file[0].sequence == first, "a file is named by its first record's sequence"
    sequences = [r.sequence for r in records]
    assert sorted(sequences) == list(range(len(records))), "a fresh collector numbers 0, 1, 2, …"

    snapshots = []
    for record in records:
        snapshot = decode_snapshot(record.payload)
        assert snapshot["collector_id"] == "downstream"
        assert snapshot["sequences"] == [("downstream", record.sequence, record.sequence)]
        assert snapshot["window_end"] - snapshot["window_start"] == 10_000_000
        assert snapshot["window_start"] % 10_000_000 == 0
        assert (snapshot["compression"], snapshot["scale"], snapshot["hll_precision"]) == (100, 5, P)  # scale 5: k2t-relative (SNAPSHOT.md)
        # SNAPSHOT.md, "Layout" and "Compatibility": tallyd writes only version 2, with
        # 21-bit mean keys (older data directories hold version 1, without mean_key_bits;
        # the checks below read either).
        assert (snapshot["version"], snapshot["mean_key_bits"]) == (2, 21)
        snapshots.append(snapshot)
    window = now_us - now_us % 10_000_000
    assert {s["window_start"] for s in snapshots} == {window}

    # --- orders (SNAPSHOT.md, "Orders") ---
    for snapshot in snapshots:
        keys = [label_key(s) for s in snapshot["series"]]
        assert keys == sorted(keys) and len(set(map(repr, keys))) == len(keys)
        assert snapshot["counter_order"] == sorted(snapshot["counter_order"], key=str.encode)
        for s in snapshot["series"]:
            names = [name for name, _ in s["error_classes"]]
            assert names == sorted(names, key=str.encode)
            assert [k for k, _ in s["tags"]] == sorted(k for k, _ in s["tags"])
            assert [i for i, _ in s["categories"]] == sorted(i for i, _ in s["categories"])

    # --- counters (SNAPSHOT.md, "Counters of tallyd") ---
    last = max(snapshots, key=lambda s: s["sequences"][0][1])
    c = last["counters"]
    sent = counters.frames_sent
    assert c["frames.accepted"] == sent and c["frames.aggregated"] == sent
    assert c["ingest.frames"] == sent and c["ingest.batches"] == counters.batches_sent
    assert c[f"producer.{client.producer_id:016x}.frames"] == sent
    for name in ["dropped.late", "dropped.future", "dropped.ring_full", "frames.folded", "series.folded_frames",
                 "ingest.rejected.bad_magic", "ingest.rejected.value_out_of_range", "sink.file.dropped.queue_full",
                 "sink.pub.dropped.failed", "sink.json.dropped.circuit_open"]:
        assert c[name] == 0, name
    for name in ["sink.file.delivered", "sink.pub.queue_depth", "snapshot.bytes", "flush.micros",
                 "replay.snapshots_served", "windows.sealed_tables", "ingest.bytes"]:
        assert name in c, name
    for snapshot in snapshots:
        sequence = snapshot["sequences"][0][1]
        assert snapshot["counters"]["snapshots"] == sequence, "snapshots made before this one, by this process"
        assert snapshot["counters"]["series.active"] == len(snapshot["series"])

    # --- series: exact figures against the frames ---
    merged = merge_series(snapshots)
    version_of = {id(s): snapshot["version"] for snapshot in snapshots for s in snapshot["series"]}
    expected = by_series(frames)
    assert set(merged) - {k for k in merged if k[0] == PROBE_MODEL} == set(expected)
    assert sum(s["requests"] for ss in merged.values() for s in ss) == sent
    for labels, group in expected.items():
        assert len(merged[labels]) == 1, "one window, one snapshot per series"
        s = merged[labels][0]
        check_series(s, group, version_of[id(s)])
    # The frames reached every case the checks are about.
    checked = [merged[labels][0] for labels in expected]
    assert any(not s["sessions"].exact for s in checked), "a dense sketch"
    assert any(s["users"].exact and s["users"].escapes for s in checked), "an exact sketch with escapes"
    assert any(not s["users"].keys for s in checked if s["users"].exact), "an empty sketch"
    assert any(s["ttft_us"].count == 0 for s in checked), "an empty digest"
    assert any(s["other_categories"] > 0 for s in checked), "more than 64 categories"
    assert any(0 < s["unpriced"] for s in checked) and any(s["cost_usd"].count > 0 for s in checked)
    assert any(s["latency_us"].count > 50 for s in checked), "a digest with merged centroids"

    # --- JSON lines: valid against the schema, same figures as the binary ---
    with open(SCHEMA) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    lines = tallyd.json_lines()
    assert len(lines) == len(snapshots)
    for line in lines:
        errors = sorted(validator.iter_errors(line), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    # The schema is not vacuous: a missing field, an unknown one or a wrong type fail.
    for damage in [lambda l: l["series"][0].pop("requests"), lambda l: l.update(extra=1),
                   lambda l: l["series"][0]["latency_us"].update(p50="fast"),
                   lambda l: l["series"][0].update(ring="blue")]:
        broken = json.loads(json.dumps(lines[0]))
        damage(broken)
        assert not validator.is_valid(broken)
    assert validator.is_valid({"index": {"window_start_us": 0}})
    binary_by_sequence = {s["sequences"][0][1]: s for s in snapshots}
    for line in lines:
        binary = binary_by_sequence[line["sequences"][0]["first"]]
        assert line["counters"] == binary["counters"]
        assert [labels_of_json(s) for s in line["series"]] == [labels_of_series(s) for s in binary["series"]]
        for js, bs in zip(line["series"], binary["series"]):
            compare_json_series(js, bs, binary["mean_key_bits"] or 28)


def empty_digest_bytes(version):
    """SNAPSHOT.md, "Empty sketches", with tallyd's defaults (k2t-relative, δ = 100): tallyd
    writes version 2's empty sketches as zero bytes (flags bit 4)."""
    return b"" if version == 2 else bytes([1, 5, 100, 0, 0, 0])


def check_series(s, group, version):
    n = len(group)
    assert s["requests"] == n
    statuses = ["ok", "error", "timeout", "rate_limited", "cancelled", "other"]
    assert s["status"] == {name: sum(1 for f in group if f.get("status", 0) == i) for i, name in enumerate(statuses)}
    assert dict(s["error_classes"]) == dict(Counter(f["error_class"] for f in group if f.get("error_class")))
    assert s["refusals"] == sum(1 for f in group if f.get("refusal"))
    assert s["escalations"] == sum(1 for f in group if f.get("escalation"))
    assert s["fallbacks"] == sum(1 for f in group if f.get("fallback"))
    assert s["task"] == {name: sum(1 for f in group if f.get("task", 0) == i)
                         for i, name in enumerate(["unknown", "success", "failure"])}
    assert (s["feedback_up"], s["feedback_down"]) == (sum(1 for f in group if f.get("feedback") == 1),
                                                      sum(1 for f in group if f.get("feedback") == 2))
    assert s["cached_input_tokens"] == sum(f.get("cached_input_tokens", 0) for f in group)

    # Failed requests feed the digests like successful ones.
    def check_digest(name, values):
        d = s[name]
        assert d.count == len(values), name
        if values:
            assert (d.min, d.max) == (min(values), max(values)), name
            assert math.isclose(d.sum, math.fsum(values), rel_tol=1e-12), name
        else:
            assert s["digest_bytes"][name] == empty_digest_bytes(version), "SNAPSHOT.md: an empty digest"

    check_digest("latency_us", [f["total_latency_us"] for f in group])
    check_digest("queue_us", [f.get("queue_time_us", 0) for f in group])
    check_digest("input_tokens", [f.get("input_tokens", 0) for f in group])
    check_digest("output_tokens", [f.get("output_tokens", 0) for f in group])
    check_digest("ttft_us", [f["ttft_us"] for f in group if f.get("ttft_us") is not None])
    check_digest("tpot_us", [(f["total_latency_us"] - f["ttft_us"]) / (f["output_tokens"] - 1) for f in group
                             if f.get("ttft_us") is not None and f.get("output_tokens", 0) >= 2])
    costs = [expected_cost(f) for f in group]
    priced = [c for c in costs if c is not None]
    assert s["unpriced"] == n - len(priced)
    check_digest("cost_usd", priced)

    # Users: hash 0 is not a user; exact sketches hold the low 28 bits of fmix64.
    users = {f["user_hash"] for f in group if f.get("user_hash")}
    check_hll(s, "users", users, version)
    check_hll(s, "sessions", {f["session_hash"] for f in group if f.get("session_hash")}, version)

    # Categories: the first 64 distinct ids to arrive are kept; "none" is counted nowhere.
    arrived = [f["category_id"] for f in group if f.get("category_id") is not None]
    kept = list(dict.fromkeys(arrived))[:64]
    counts = Counter(arrived)
    assert s["categories"] == sorted((i, counts[i]) for i in kept)
    assert s["other_categories"] == len(arrived) - sum(counts[i] for i in kept)


def check_hll(s, name, hashes, version):
    sketch = s[name]
    assert sketch.precision == P
    if not hashes:
        assert sketch.exact and sketch.keys == []
        assert s["hll_bytes"][name] == (b"" if version == 2 else bytes([0x11, P, 0])), \
            "SNAPSHOT.md: an empty HyperLogLog"
        return
    registers = {}
    for h in hashes:
        index, value = register_of(h, P)
        registers[index] = max(registers.get(index, 0), value)
    if sketch.exact:
        keys = {fmix64(h) & (2**28 - 1): register_of(h, P)[1] for h in hashes}
        assert sketch.keys == sorted(keys), name
        # Keys whose bits p…27 are zero carry their register value (it needs more than 28 bits).
        assert sketch.escapes == {k: v for k, v in keys.items() if k >> P == 0}, name
    else:
        assert len(hashes) > 2**P // 16, f"{name}: dense only past m/16 values"
        assert sketch.registers == [registers.get(i, 0) for i in range(2**P)], name
        if sketch.kind == 0x13:
            assert abs(sketch.stored_estimate - len(hashes)) < 0.05 * len(hashes), name


def compare_json_series(js, bs, key_bits):
    """`key_bits`: B of the snapshot's mean keys (its mean_key_bits in version 2, 28 in version 1)."""
    assert js["requests"] == bs["requests"] and js["status"] == bs["status"]
    assert js["error_classes"] == dict(bs["error_classes"])
    assert js["cached_input_tokens"] == bs["cached_input_tokens"] and js["unpriced"] == bs["unpriced"]
    assert js["categories"] == {str(i): c for i, c in bs["categories"]}
    assert js["other_categories"] == bs["other_categories"]
    for name in ["queue_us", "ttft_us", "latency_us", "tpot_us", "input_tokens", "output_tokens", "cost_usd"]:
        d, j = bs[name], js[name]
        assert j["count"] == d.count, name
        if d.count == 0:
            continue
        assert (j["min"], j["max"]) == (d.min, d.max), name
        for key, q in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)]:
            # Means in the binary form are rounded to B-bit keys: sign, exponent and B − 12
            # bits of mantissa, so within 2^-(B-11) relative (SNAPSHOT.md: 2^-10 at B = 21,
            # 2^-17 at v1's 28), and the quantiles interpolated from them with it.
            assert math.isclose(d.quantile(q), j[key], rel_tol=2**-(key_bits - 11), abs_tol=1e-12), \
                (name, key, d.quantile(q), j[key])
    if bs["users"].exact:
        assert js["users"] == len(bs["users"].keys)
