"""Sending frames with the Python producer library, and what was sent, by series."""
import time
from collections import defaultdict

from tally_client import TallyClient

PROBE_MODEL = "probe"
RINGS = ["stable", "canary", "shadow"]


def connected_client(endpoint, event_time_us, seconds=15):
    """A client whose connection is up: it records probe frames (model "probe", left out
    of the comparisons) until one is sent (ZMQ_IMMEDIATE drops until then)."""
    client = TallyClient([endpoint])
    deadline = time.monotonic() + seconds
    while client.counters.frames_sent == 0:
        assert time.monotonic() < deadline, "no connection to tallyd"
        client.record(model=PROBE_MODEL, total_latency_us=1, event_time_us=event_time_us)
        client.flush(timeout=0.2)
    return client


def labels_of_frame(frame):
    """The series a frame belongs to, as SNAPSHOT.md's labels (tags sorted by key)."""
    return (frame["model"], frame.get("model_version") or "", frame.get("prompt_version") or "",
            frame.get("route") or "", frame.get("ring", 0), tuple(sorted((frame.get("tags") or {}).items())))


def labels_of_series(series):
    return (series["model"], series["model_version"], series["prompt_version"], series["route"],
            series["ring"], tuple(series["tags"]))


def labels_of_json(series):
    return (series["model"], series["model_version"], series["prompt_version"], series["route"],
            RINGS.index(series["ring"]), tuple(sorted(series["tags"].items())))


def by_series(frames):
    groups = defaultdict(list)
    for frame in frames:
        groups[labels_of_frame(frame)].append(frame)
    return groups
