"""CURVE against a real tallyd: keys written by ``tallyd keygen``, an allowed producer's
frames arrive; a producer whose key is not on the collector's list gets nothing in and
is counted by reason on both sides (issue 18)."""
import os
import subprocess
import tempfile
import time

import pytest
import zmq

from probes import PROBE_MODEL, wait_connected
from tally_client import TallyClient, read_curve_key
from tallyd_process import TALLYD_ENV, Tallyd, tallyd_path

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(not zmq.has("curve"), reason="this libzmq was built without CURVE")]


@pytest.fixture
def keys():
    """A server key pair, an allowed producer's ("member", its public key alone in the
    allowlist directory) and a stranger's, all by ``tallyd keygen``."""
    binary = tallyd_path()
    if binary is None:
        if os.environ.get("TALLY_REQUIRE_TALLYD"):
            pytest.fail(f"${TALLYD_ENV} does not name an executable tallyd")
        pytest.skip(f"set ${TALLYD_ENV} to a tallyd binary")
    with tempfile.TemporaryDirectory(prefix="tally-curve-") as d:
        allowed_dir = os.path.join(d, "allowed")
        os.mkdir(allowed_dir)
        for name in ("server", "member", "stranger"):
            subprocess.run([binary, "keygen", os.path.join(d, name)], check=True, capture_output=True)
        pair = {name: (read_curve_key(os.path.join(d, name + ".pub")), read_curve_key(os.path.join(d, name + ".key")))
                for name in ("server", "member", "stranger")}
        with open(os.path.join(allowed_dir, "member.pub"), "w") as f:
            f.write(pair["member"][0] + "\n")
        yield dict(binary=binary, server=pair["server"][0], member=pair["member"], stranger=pair["stranger"],
                   config=f'curve_secret_key_file = "{os.path.join(d, "server.key")}"\n'
                          f'curve_allowed_producers_dir = "{allowed_dir}"\n')


def test_read_curve_key_reads_a_keygen_file_and_refuses_anything_else(tmp_path, keys):
    assert len(keys["server"]) == 40
    bad = tmp_path / "bad.pub"
    bad.write_text("# comment\nnot-a-key\n")
    with pytest.raises(ValueError, match="Z85"):
        read_curve_key(bad)
    two = tmp_path / "two.pub"
    two.write_text(keys["server"] + "\n" + keys["server"] + "\n")
    with pytest.raises(ValueError):
        read_curve_key(two)


def test_curve_settings_are_checked():
    with pytest.raises(ValueError, match="together"):
        TallyClient("tcp://127.0.0.1:1", server_public_key="a" * 40)
    with pytest.raises(ValueError, match="curve_secret_key"):
        TallyClient("tcp://127.0.0.1:1", server_public_key="a" * 40, curve_public_key="b" * 40,
                    curve_secret_key="short")


def test_an_allowed_producer_gets_in_and_a_stranger_is_refused_and_counted(keys):
    member_pub, member_key = keys["member"]
    daemon = Tallyd(keys["binary"], extra_config=keys["config"])
    try:
        now_us = int(time.time() * 1e6)
        member = TallyClient([daemon.endpoint], server_public_key=keys["server"],
                             curve_public_key=member_pub, curve_secret_key=member_key)
        wait_connected(member, now_us)
        for i in range(500):
            member.record(model="curve-ok", total_latency_us=1_000 + i, event_time_us=now_us)
        member.close(timeout=5.0)
        assert member.counters.frames_sent == member.counters.frames_recorded

        stranger_pub, stranger_key = keys["stranger"]
        stranger = TallyClient([daemon.endpoint], server_public_key=keys["server"],
                               curve_public_key=stranger_pub, curve_secret_key=stranger_key)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            stranger.record(model="curve-stranger", total_latency_us=1, event_time_us=int(time.time() * 1e6))
            stranger.flush(timeout=0.1)
        stranger.close(timeout=1.0)
        assert stranger.counters.frames_sent == 0, "nothing of a stranger's gets in"
        assert stranger.counters.dropped["collector_unavailable"] == stranger.counters.frames_recorded > 0

        plain = TallyClient([daemon.endpoint])  # no key at all
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            plain.record(model="curve-plain", total_latency_us=1, event_time_us=int(time.time() * 1e6))
            plain.flush(timeout=0.1)
        plain.close(timeout=1.0)
        assert plain.counters.frames_sent == 0
    finally:
        snapshots = daemon.stop()
        daemon.kill()
    requests = {}
    for snapshot in snapshots:
        for series in snapshot["series"]:
            requests[series["model"]] = requests.get(series["model"], 0) + series["requests"]
    assert requests.get("curve-ok") == 500
    assert "curve-stranger" not in requests and "curve-plain" not in requests
    counters = snapshots[-1]["counters"]
    assert counters["ingest.refused.unknown_key"] >= 1
    assert counters["ingest.refused.handshake_failed"] + counters["ingest.refused.no_key"] >= 1
    assert PROBE_MODEL in requests
