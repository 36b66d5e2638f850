"""SNAPSHOT.md, "Cohort aggregates", on a real tallyd configured with breakdown keys:
the series carry only their series tags, every deployment slice gets one cohort
aggregate per value of each breakdown key (the sum, not the product, of the keys'
values), each equal to what was sent with that tag, and tags that are neither are
dropped and counted. Read from the data directory with this directory's reader only."""
import random
import time
from collections import defaultdict

import pytest

from sending import PROBE_MODEL, connected_client
from tally_snapshot import decode_snapshot, fmix64
from tally_storage import read_records

pytestmark = pytest.mark.timeout(240)

WINDOW_US = 10_000_000
LANGS, TIERS, TENANTS = ["de", "en", "fr"], ["free", "pro"], ["t1", "t2", "t3", "t4"]


def frames(event_time_us, count=600, seed=16):
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        out.append(dict(model=rng.choice(["alpha", "beta"]), ring=rng.choice([0, 1]),
                        total_latency_us=rng.randrange(1_000, 2_000_000), status=rng.choice([0, 0, 0, 1]),
                        refusal=rng.random() < 0.1, user_hash=rng.getrandbits(64) | 1,
                        session_hash=rng.getrandbits(64) | 1, event_time_us=event_time_us,
                        # queue time below the smallest latency (FORMAT.md: queue ≤ total)
                        queue_time_us=rng.randrange(0, 1_000), input_tokens=rng.randrange(1, 4_000),
                        output_tokens=rng.randrange(1, 800), category_id=rng.randrange(0, 12),
                        tags={"lang": rng.choice(LANGS), "tier": rng.choice(TIERS), "tenant": rng.choice(TENANTS)}))
    return out


def test_breakdown_keys_make_cohort_aggregates_beside_untagged_series(start_tallyd):
    tallyd = start_tallyd(window_seconds=10, allowed_lateness_seconds=2,
                          extra_config=['series_tags = []', 'breakdown_keys = ["lang", "tier"]'])
    now_us = time.time_ns() // 1000
    window = now_us - now_us % WINDOW_US
    sent = frames(now_us)
    client = connected_client(tallyd.endpoint, now_us)
    for frame in sent:
        client.record(**frame)
    counters = client.close(timeout=10)
    assert counters.frames_dropped == 0
    tallyd.stop()

    records, torn = read_records(tallyd.data_directory)
    assert torn == 0
    snapshots = [decode_snapshot(r.payload) for r in records]
    ours = [s for s in snapshots if s["window_start"] == window]
    assert len(ours) == 1, "one window, published once at shutdown"
    snapshot = ours[0]

    # The series: one per slice, no tags (series_tags = []).
    slices = defaultdict(list)
    for frame in sent:
        slices[(frame["model"], frame["ring"])].append(frame)
    series = {(s["model"], s["ring"]): s for s in snapshot["series"] if s["model"] != PROBE_MODEL}
    assert set(series) == set(slices)
    for key, group in slices.items():
        assert series[key]["tags"] == []
        assert series[key]["requests"] == len(group)
        categories = defaultdict(int)
        for frame in group:
            categories[frame["category_id"]] += 1
        assert series[key]["categories"] == sorted(categories.items()), "series count input categories"

    # The cohorts: per slice, one per value of lang and one per value of tier.
    expected = defaultdict(list)
    for frame in sent:
        for tag in ["lang", "tier"]:
            expected[(frame["model"], frame["ring"], tag, frame["tags"][tag])].append(frame)
    cohorts = {(c["model"], c["ring"], *c["tags"][0]): c for c in snapshot["cohorts"]}
    assert set(cohorts) == set(expected)
    assert len(cohorts) == len(slices) * (len(LANGS) + len(TIERS)), "sum, not product"
    for key, group in expected.items():
        c = cohorts[key]
        assert c["requests"] == len(group), key
        assert c["status"]["ok"] == sum(f["status"] == 0 for f in group), key
        assert c["status"]["error"] == sum(f["status"] == 1 for f in group), key
        assert c["refusals"] == sum(f["refusal"] for f in group), key
        latency = c["latency_us"]
        assert latency.count == len(group)
        assert latency.min == min(f["total_latency_us"] for f in group)
        assert latency.max == max(f["total_latency_us"] for f in group)
        assert latency.sum == sum(f["total_latency_us"] for f in group)
        assert c["users"].exact and c["users"].keys == sorted({fmix64(f["user_hash"]) & (2**28 - 1) for f in group})
        # tallyd's default cohort_distributions: queue time and the token counts are
        # summaries (exact count, min, max, sum in one centroid; no quantiles).
        for name, field in [("queue_us", "queue_time_us"), ("input_tokens", "input_tokens"),
                            ("output_tokens", "output_tokens")]:
            summary, values = c[name], [f[field] for f in group]
            assert summary.summary and summary.count == len(group), (key, name)
            assert (summary.min, summary.max, summary.sum) == (min(values), max(values), sum(values)), (key, name)
            assert len(summary.weights) == (1 if len(group) > 1 else len(summary.weights))
            assert summary.quantile(0.5) is None or len(group) == 1
        assert not latency.summary and latency.quantile(0.5) is not None
        # SNAPSHOT.md: cohorts keep no sessions and no time per output token.
        assert c["sessions"].exact and c["sessions"].keys == []
        assert c["tpot_us"].count == 0
        # tallyd's default cohort_categories = false: no category histogram in cohorts.
        assert c["categories"] == [] and c["other_categories"] == 0, key

    assert snapshot["counters"]["tags.dropped"] == len(sent), "the tenant tag of every frame"
    assert snapshot["cohort_summaries"] == ["queue_us", "input_tokens", "output_tokens"]
    assert all(s["queue_us"].quantile(0.5) is not None for s in snapshot["series"] if s["requests"] > 1), \
        "series keep every distribution"
    assert snapshot["counters"]["cohorts.refused"] == 0
    assert snapshot["counters"]["cohorts.active"] == len(cohorts)
