"""SNAPSHOT.md, "Heavy hitters", on a real tallyd with heavy_hitters = 8: per deployment
slice, the users by requests and by cost, read with this directory's reader only, hold
the spec's guarantees against the exact counts of what was sent."""
import json
import os
import random
import time
from collections import Counter, defaultdict

import pytest

from sending import PROBE_MODEL, connected_client
from tally_snapshot import decode_snapshot
from tally_storage import read_records

pytestmark = pytest.mark.timeout(240)

SCHEMA = os.path.join(os.path.dirname(__file__), "..", "..", "Sources", "TallyCore", "snapshot-line.schema.json")

WINDOW_US = 10_000_000
K = 8


def zipf_users(rng, count, distinct=200, s=1.2):
    weights = [1 / (i + 1) ** s for i in range(distinct)]
    ids = [0x9E3779B97F4A7C15 * (i + 1) % 2**64 | 1 for i in range(distinct)]
    return rng.choices(ids, weights, k=count)


def send_and_read_window(tallyd, sent, now_us, window):
    """Sends `sent` to tallyd, stops it, and returns the one snapshot of `window` its data
    directory holds, read with this directory's reader."""
    client = connected_client(tallyd.endpoint, now_us)
    for frame in sent:
        client.record(**frame)
    assert client.close(timeout=10).frames_dropped == 0
    tallyd.stop()
    records, torn = read_records(tallyd.data_directory)
    assert torn == 0
    ours = [s for s in (decode_snapshot(r.payload) for r in records) if s["window_start"] == window]
    assert len(ours) == 1
    return ours[0]


def valid_json_line(tallyd, window, jsonschema):
    """The schema's validator and the JSON line of `window`, which it must accept."""
    with open(SCHEMA) as f:
        validator = jsonschema.Draft202012Validator(json.load(f))
    lines = [l for l in tallyd.json_lines() if l.get("window_start_us") == window]
    assert len(lines) == 1
    errors = sorted(validator.iter_errors(lines[0]), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    return validator, lines[0]


def test_heavy_hitters_hold_their_bounds_per_slice(start_tallyd, jsonschema):
    tallyd = start_tallyd(window_seconds=10, allowed_lateness_seconds=2, extra_config=[f"heavy_hitters = {K}"])
    now_us = time.time_ns() // 1000
    window = now_us - now_us % WINDOW_US
    rng = random.Random(7)
    users = zipf_users(rng, 3_000)
    sent = [dict(model="priced-model", ring=rng.choice([0, 1]), total_latency_us=1_000, event_time_us=now_us,
                 input_tokens=rng.randrange(10, 2_000), output_tokens=rng.randrange(1, 500), user_hash=user)
            for user in users]
    sent += [dict(model="priced-model", ring=0, total_latency_us=1_000, event_time_us=now_us)] * 50  # no user
    snapshot = send_and_read_window(tallyd, sent, now_us, window)
    assert snapshot["counters"]["heavy_hitters.refused"] == 0

    truth = defaultdict(Counter)
    for frame in sent:
        if frame.get("user_hash"):
            truth[frame["ring"]][frame["user_hash"]] += 1
    slices = {s["ring"]: s for s in snapshot["heavy_hitters"] if s["model"] == "priced-model"}
    assert set(slices) == {0, 1}
    costs = {s["ring"]: s["cost_usd"].sum for s in snapshot["series"] if s["model"] == "priced-model"}
    for ring, counts in truth.items():
        hitters = slices[ring]
        assert hitters["capacity"] == K
        by_requests = hitters["users_by_requests"]
        total = by_requests["total"]
        assert total == sum(counts.values()), "W: the frames with a user"
        held = {key: (estimate, error) for key, estimate, error in by_requests["entries"]}
        assert len(held) == K, "more than k distinct users: every counter used"
        for key, (estimate, error) in held.items():
            assert counts[key] <= estimate <= counts[key] + error, hex(key)
            assert error <= total / K
        for key, count in counts.items():
            if count > total / K:
                assert key in held, f"{key:#x} has {count} of {total} requests, over W/k"
        # The heaviest user of a Zipf stream is held and ranked first.
        assert by_requests["entries"][0][0] == counts.most_common(1)[0][0]

        by_cost = hitters["users_by_cost"]
        # W: the slice's priced cost, each frame's rounded up to a multiple of 2^-32 USD
        # (SNAPSHOT.md, "Heavy hitters"), so W is on that grid and at most 2^-32 a frame over.
        priced = sum(1 for f in sent if f["ring"] == ring and f.get("user_hash"))
        assert costs[ring] * (1 - 1e-12) <= by_cost["total"] <= costs[ring] * (1 + 1e-12) + priced * 2.0 ** -32
        assert (by_cost["total"] * 2 ** 32).is_integer(), "on the 2^-32-USD grid"
        assert all(0 <= error <= by_cost["total"] / K * (1 + 1e-9) for _, _, error in by_cost["entries"])
    assert {s["model"] for s in snapshot["heavy_hitters"]} == {"priced-model"}, f"{PROBE_MODEL} frames carry no user"

    # The JSON line of the same window: valid against the schema, the same summaries.
    validator, line = valid_json_line(tallyd, window, jsonschema)
    for item in line["heavy_hitters"]:
        binary = slices[["stable", "canary", "shadow"].index(item["ring"])]
        top = [(int(e["user"], 16), e["estimate"], e["error"]) for e in item["users_by_requests"]["top"]]
        assert top == binary["users_by_requests"]["entries"]
        assert item["users_by_requests"]["error_bound"] == binary["users_by_requests"]["total"] / K
    broken = json.loads(json.dumps(line))
    broken["heavy_hitters"][0]["users_by_cost"]["top"].append({"user": "xyz", "estimate": 1, "error": 0})
    assert list(validator.iter_errors(broken)), "the schema checks heavy_hitters"


def test_tenant_heavy_hitters_hold_their_bounds_and_name_tenants(start_tallyd, jsonschema):
    """heavy_hitter_tag = "tenant": per slice, the tenants by requests and by cost, named,
    keyed by FNV-1a-64 of the name (the reader derives it), within the spec's bounds of
    the exact counts; the tenant tag makes no series and is not counted dropped."""
    tallyd = start_tallyd(window_seconds=10, allowed_lateness_seconds=2,
                          extra_config=[f"heavy_hitters = {K}", 'heavy_hitter_tag = "tenant"', "series_tags = []",
                                        'breakdown_keys = ["lang"]'])
    now_us = time.time_ns() // 1000
    window = now_us - now_us % WINDOW_US
    rng = random.Random(11)
    tenant_names = [f"tenant-{i}" for i in range(40)] + ["ténant-ü"]
    weights = [1 / (i + 1) ** 1.2 for i in range(len(tenant_names))]
    sent = []
    for i in range(3_000):
        tags = {"lang": rng.choice(["en", "de"])}
        if i % 13:  # every 13th frame carries no tenant: in no tenant summary
            tags["tenant"] = rng.choices(tenant_names, weights)[0]
        frame = dict(model="priced-model", ring=rng.choice([0, 1]), total_latency_us=1_000, event_time_us=now_us,
                     input_tokens=rng.randrange(10, 2_000), output_tokens=rng.randrange(1, 500), tags=tags)
        if i % 3:  # a third without a user: still counted for its tenant
            frame["user_hash"] = rng.randrange(1, 500)
        sent.append(frame)
    snapshot = send_and_read_window(tallyd, sent, now_us, window)
    assert snapshot["counters"]["heavy_hitters.refused"] == 0
    assert snapshot["counters"]["tags.dropped"] == 0, "the tenant tag is the heavy-hitter tag, not dropped"
    assert all(not s["tags"] for s in snapshot["series"]), "no series per tenant"

    truth = defaultdict(Counter)
    for frame in sent:
        if "tenant" in frame["tags"]:
            truth[frame["ring"]][frame["tags"]["tenant"]] += 1
    slices = {s["ring"]: s for s in snapshot["heavy_hitters"] if s["model"] == "priced-model"}
    assert set(slices) == {0, 1}
    costs = {s["ring"]: s["cost_usd"].sum for s in snapshot["series"] if s["model"] == "priced-model"}
    for ring, counts in truth.items():
        hitters = slices[ring]
        assert hitters["tenant_key"] == "tenant"
        by_requests = hitters["tenants_by_requests"]
        total = by_requests["total"]
        assert total == sum(counts.values()), "W: the frames carrying the tag, with a user or not"
        held = {name: (estimate, error) for name, estimate, error in by_requests["entries"]}
        assert len(held) == K
        for name, (estimate, error) in held.items():
            assert counts[name] <= estimate <= counts[name] + error, name
            assert error <= total / K
        for name, count in counts.items():
            if count > total / K:
                assert name in held, f"{name} has {count} of {total} requests, over W/k"
        assert by_requests["entries"][0][0] == counts.most_common(1)[0][0]
        by_cost = hitters["tenants_by_cost"]
        untagged = sum(1 for f in sent if f["ring"] == ring and "tenant" not in f["tags"])
        assert 0 < by_cost["total"] < costs[ring] or untagged == 0, "W: the priced cost of the tagged frames"
        assert all(0 <= error <= by_cost["total"] / K * (1 + 1e-9) for _, _, error in by_cost["entries"])

    _, line = valid_json_line(tallyd, window, jsonschema)
    for item in line["heavy_hitters"]:
        binary = slices[["stable", "canary", "shadow"].index(item["ring"])]
        assert item["tenant_tag"] == "tenant"
        top = [(e["tenant"], e["estimate"], e["error"]) for e in item["tenants_by_requests"]["top"]]
        assert top == binary["tenants_by_requests"]["entries"]
