"""A real tallyd's PUB stream (pyzmq SUB) and replay endpoint (REQ), read with nothing
but STORAGE.md and SNAPSHOT.md: the topic and little-endian sequence, the same bytes as
the data directory, replay by range, and replay's error reply."""
import time

import pytest
import zmq

from sending import connected_client
from tally_snapshot import decode_snapshot
from tally_storage import INDEX_TOPIC, SNAPSHOT_TOPIC, read_records, replay, stream_sequence

pytestmark = pytest.mark.timeout(180)


def receive(subscriber, quiet_seconds=3.0, most_seconds=15.0):
    """Messages received until none came for `quiet_seconds` (at most `most_seconds`)."""
    messages = []
    end = time.monotonic() + most_seconds
    quiet_until = time.monotonic() + quiet_seconds
    while time.monotonic() < min(end, quiet_until):
        if subscriber.poll(100):
            messages.append(subscriber.recv_multipart())
            quiet_until = time.monotonic() + quiet_seconds
    return messages


def test_stream_and_replay_carry_the_stored_snapshots(start_tallyd):
    tallyd = start_tallyd(window_seconds=1, allowed_lateness_seconds=1, index=True)
    context = zmq.Context()
    subscriber = context.socket(zmq.SUB)
    subscriber.setsockopt(zmq.LINGER, 0)
    subscriber.setsockopt(zmq.SUBSCRIBE, b"tally.")  # both topics
    subscriber.connect(tallyd.pub_endpoint)
    try:
        client = connected_client(tallyd.endpoint, time.time_ns() // 1000)
        # Frames for about 4 s, stamped now: several 1-s windows seal while tallyd runs.
        sent_by_window = {}
        end = time.monotonic() + 4.0
        i = 0
        while time.monotonic() < end:
            now_us = time.time_ns() // 1000
            client.record(model="stream-model", total_latency_us=1_000 + i % 5_000, event_time_us=now_us,
                          status=i % 3)
            start = now_us - now_us % 1_000_000
            sent_by_window[start] = sent_by_window.get(start, 0) + 1
            i += 1
            if i % 50 == 0:
                time.sleep(0.01)
        counters = client.close(timeout=10)
        assert counters.frames_dropped == 0

        messages = receive(subscriber)
        snapshot_messages = [m for m in messages if m[0].startswith(SNAPSHOT_TOPIC)]
        index_messages = [m for m in messages if m[0].startswith(INDEX_TOPIC)]
        assert len(snapshot_messages) >= 2, f"only {len(messages)} messages on the stream"
        streamed = {}
        for first, payload in (m for m in snapshot_messages if len(m) == 2):
            assert len(first) == len(SNAPSHOT_TOPIC) + 8
            sequence = stream_sequence(first)
            snapshot = decode_snapshot(payload)
            # The topic's sequence is little-endian and equals the snapshot's own range.
            assert snapshot["sequences"] == [("downstream", sequence, sequence)]
            streamed[sequence] = payload
        assert list(streamed) == sorted(streamed), "the stream is in sequence order"
        for first, document in index_messages:
            assert stream_sequence(first, INDEX_TOPIC) is not None and document.startswith(b"{")
        assert stream_sequence(b"tally.snapshot\x01", SNAPSHOT_TOPIC) is None

        # Replay while tallyd runs: the same bytes, by range, in sequence order.
        newest = max(streamed)
        status, payloads = replay(context, tallyd.replay_endpoint, 0, newest)
        assert status == "ok"
        replayed = {decode_snapshot(p)["sequences"][0][1]: p for p in payloads}
        assert list(replayed) == list(range(newest + 1)), "every stored sequence, ascending"
        for sequence, payload in streamed.items():
            assert replayed[sequence] == payload
        status, payloads = replay(context, tallyd.replay_endpoint, newest, newest)
        assert status == "ok" and payloads == [replayed[newest]]
        assert replay(context, tallyd.replay_endpoint, 1_000_000, 2_000_000) == ("ok", [])
        for bad in [b"5 3", b"abc", b"1", b"1 2 3", b""]:
            status, reason = replay(context, tallyd.replay_endpoint, bad, None)
            assert status == "error" and reason, bad
    finally:
        subscriber.close()
        context.term()

    tallyd.stop()
    # The data directory holds every snapshot, the streamed ones byte for byte.
    records, torn = read_records(tallyd.data_directory)
    assert torn == 0
    stored = {r.sequence: r.payload for r in records}
    assert sorted(stored) == list(range(len(stored)))
    for sequence, payload in streamed.items():
        assert stored[sequence] == payload
    # Every frame sent is in exactly one stored snapshot of its window.
    by_window = {}
    for payload in stored.values():
        snapshot = decode_snapshot(payload)
        for s in snapshot["series"]:
            if s["model"] == "stream-model":
                by_window[snapshot["window_start"]] = by_window.get(snapshot["window_start"], 0) + s["requests"]
    assert by_window == sent_by_window
