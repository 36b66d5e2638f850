"""SNAPSHOT.md, "A window in more than one snapshot" and "Windows and event time", on a
real tallyd: frames stamped up to future_tolerance_seconds (set to 60 s here) ahead are taken (later ones are dropped as
future), a shutdown publishes their window early, a restart continues the sequence
numbers and publishes a second snapshot of the same window, and merging the two by
the documented rule gives what was sent. Read from the data directory only."""
import time

import pytest

from sending import PROBE_MODEL, connected_client
from tally_snapshot import decode_snapshot, fmix64
from tally_storage import read_records

pytestmark = pytest.mark.timeout(240)

WINDOW_US = 10_000_000


def send(tallyd, event_time_us, users, extra=()):
    client = connected_client(tallyd.endpoint, time.time_ns() // 1000)
    for i, user in enumerate(users):
        client.record(model="future-model", total_latency_us=10_000 + i, event_time_us=event_time_us, user_hash=user)
    for frame in extra:
        client.record(**frame)
    counters = client.close(timeout=10)
    assert counters.frames_dropped == 0
    return counters


def snapshots_of(tallyd):
    records, torn = read_records(tallyd.data_directory)
    assert torn == 0
    return [decode_snapshot(r.payload) for r in records]


def test_future_window_published_early_then_again_after_restart(start_tallyd):
    tallyd = start_tallyd(window_seconds=10, allowed_lateness_seconds=2, future_tolerance_seconds=60)
    future_us = time.time_ns() // 1000 + 30_000_000  # 30 s ahead: within the 60 s tolerance
    window = future_us - future_us % WINDOW_US
    first_users = list(range(1, 41))
    second_users = list(range(21, 81))  # 20 users in both runs
    too_far = dict(model="future-model", total_latency_us=1, event_time_us=time.time_ns() // 1000 + 120_000_000)
    first = send(tallyd, future_us, first_users, extra=[too_far])
    tallyd.stop()
    stopped_us = time.time_ns() // 1000

    before = snapshots_of(tallyd)
    early = [s for s in before if s["window_start"] == window]
    assert len(early) == 1, "the shutdown published the open future window"
    assert early[0]["window_end"] > stopped_us, "published before its window ended"
    last_first_run = max(s["sequences"][0][1] for s in before)
    c = max(before, key=lambda s: s["sequences"][0][1])["counters"]
    assert c["dropped.future"] == 1, "stamped 120 s ahead: beyond the tolerance"
    assert c["frames.accepted"] == first.frames_sent

    tallyd.start()  # the same data directory
    second = send(tallyd, future_us, second_users)
    tallyd.stop()

    after = snapshots_of(tallyd)
    new = [s for s in after if s["sequences"][0][1] > last_first_run]
    assert new, "the restart made snapshots"
    assert sorted(s["sequences"][0][1] for s in new) == list(range(last_first_run + 1, last_first_run + 1 + len(new))), \
        "sequences continue across the restart"
    first_new = min(new, key=lambda s: s["sequences"][0][1])
    assert first_new["counters"]["snapshots"] == 0, "the first snapshot of a process"
    newest = max(new, key=lambda s: s["sequences"][0][1])
    assert newest["counters"]["frames.accepted"] == second.frames_sent, "counters restart with the process"

    of_window = [s for s in after if s["window_start"] == window]
    assert len(of_window) == 2 and len({s["sequences"][0][1] for s in of_window}) == 2
    # The documented merge: counters add, digests merge (count, min, max, sum exact), HLLs unite.
    series = [x for s in of_window for x in s["series"] if x["model"] == "future-model"]
    assert len(series) == 2
    assert sum(x["requests"] for x in series) == len(first_users) + len(second_users)
    assert sum(x["latency_us"].count for x in series) == len(first_users) + len(second_users)
    assert min(x["latency_us"].min for x in series) == 10_000
    keys = set()
    for x in series:
        assert x["users"].exact
        keys |= set(x["users"].keys)
    assert keys == {fmix64(u) & (2**28 - 1) for u in set(first_users) | set(second_users)}
    assert all(x["model"] != PROBE_MODEL for x in series)
