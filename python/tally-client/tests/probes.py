"""Waiting for a client's connection: ZMQ_IMMEDIATE drops frames until it is up."""
import time

PROBE_MODEL = "probe"


def wait_connected(client, event_time_us, seconds=15):
    """Records probe frames (their own model, left out of the comparisons, in the
    test's window) until one is sent: ZMQ_IMMEDIATE drops until the connection is up."""
    deadline = time.monotonic() + seconds
    while client.counters.frames_sent == 0:
        assert time.monotonic() < deadline, "no connection to the collector"
        client.record(model=PROBE_MODEL, total_latency_us=1, event_time_us=event_time_us)
        client.flush(timeout=0.2)
