"""What the client puts on the wire, read from a plain PULL socket on loopback:
batches up to 64 KiB, sent when full or when their first frame is a few ms old,
consecutive sequence numbers, the producer id in every header."""
import struct
import time

import pytest
import zmq

from tally_client import TallyClient, TraceFrame, identifier_hash
from tally_client.encoder import FRAME_LENGTH, HEADER
from probes import wait_connected

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def pull():
    context = zmq.Context()
    socket = context.socket(zmq.PULL)
    port = socket.bind_to_random_port("tcp://127.0.0.1")
    socket.setsockopt(zmq.RCVTIMEO, 5_000)
    yield socket, f"tcp://127.0.0.1:{port}"
    socket.close(0)
    context.term()


def connected_client(endpoint, socket, **settings):
    """A client whose connection is up: its probe frame received (sequence 0)."""
    client = TallyClient([endpoint], **settings)
    wait_connected(client, time.time_ns() // 1000)
    assert HEADER.unpack_from(socket.recv())[-1] == 0  # sequence
    return client


def test_full_batches_fill_64_kib_and_sequences_count_up(pull):
    socket, endpoint = pull
    client = connected_client(endpoint, socket, max_batch_age_ms=10_000, producer_id=0xABCDEF)
    tags = {"tenant": "acme", "region": "eu"}
    frames = 5_000
    for i in range(frames):
        client.record(model="m", route="chat", tags=tags, total_latency_us=i)
    counters = client.close(timeout=5)
    assert counters.frames_sent == frames + 1 and counters.frames_dropped == 0
    batches = [socket.recv() for _ in range(counters.batches_sent - 1)]
    received = 0
    for sequence, batch in enumerate(batches, start=1):
        (magic, version, _flags, _hl, length, _sto, count, _sc, _fl, _r, producer, seq) = HEADER.unpack_from(batch)
        assert (magic, version, producer, seq, length) == (b"TLYB", 1, 0xABCDEF, sequence, len(batch))
        assert len(batch) <= 65_536
        frame_bytes = 76 + 2 * 4  # revision 1.1's fixed part, two tags
        assert int.from_bytes(batch[20:22], "little") == FRAME_LENGTH == 76
        if sequence < len(batches):  # all but the last are full: another frame would not fit
            assert len(batch) + frame_bytes > 65_536
        latencies = [struct.unpack_from("<I", batch, 40 + i * frame_bytes + 32)[0]
                     for i in range(count)]
        assert latencies == list(range(received, received + count))  # in order, none lost
        received += count
    assert received == frames


def test_a_batch_goes_out_when_its_first_frame_is_a_few_ms_old(pull):
    socket, endpoint = pull
    client = connected_client(endpoint, socket, max_batch_age_ms=5)
    started = time.monotonic()
    client.record(model="m", total_latency_us=7)  # no flush: only the age sends it
    batch = socket.recv()
    waited = time.monotonic() - started
    assert HEADER.unpack_from(batch)[6] == 1  # one frame
    assert waited < 1.0, f"sent after {waited * 1000:.0f} ms"
    client.close(timeout=1)


@pytest.mark.parametrize("secret", ["", "fleet-7:"])
def test_raw_ids_are_hashed_and_never_sent(pull, secret):
    socket, endpoint = pull
    client = connected_client(endpoint, socket, id_secret=secret, max_batch_age_ms=10_000)
    client.record(model="m", total_latency_us=1, user_id="alice@example.com", session_id="s-42")
    client.record(model="m", total_latency_us=1, user_hash=5, session_hash=6)
    client.close(timeout=5)
    batch = socket.recv()
    assert HEADER.unpack_from(batch)[6] == 2
    assert struct.unpack_from("<QQ", batch, 40 + 8) == (
        identifier_hash(secret + "alice@example.com"), identifier_hash(secret + "s-42"))
    assert struct.unpack_from("<QQ", batch, 40 + 76 + 8) == (5, 6)  # frame 1 at 40 + 76
    assert b"alice" not in batch and b"s-42" not in batch


def test_cache_writes_and_reasoning_tokens_are_frame_bytes_68_to_75(pull):
    socket, endpoint = pull
    client = connected_client(endpoint, socket, max_batch_age_ms=10_000)
    client.record(model="m", total_latency_us=1, input_tokens=900, cached_input_tokens=300,
                  cache_creation_input_tokens=600, output_tokens=70_000,
                  reasoning_output_tokens=65_537, tags={"t": "v"})
    client.record_frame(TraceFrame(model="m", total_latency_us=1, input_tokens=5,
                                   cache_creation_input_tokens=5, output_tokens=2,
                                   reasoning_output_tokens=1))
    client.record(model="m", total_latency_us=1, input_tokens=5, output_tokens=2)  # both default 0
    client.close(timeout=5)
    batch = socket.recv()
    assert HEADER.unpack_from(batch)[6] == 3
    first, second, third = 40, 40 + 76 + 4, 40 + 76 + 4 + 76
    assert struct.unpack_from("<III", batch, first + 36) == (900, 70_000, 300)
    assert struct.unpack_from("<II", batch, first + 68) == (600, 65_537)
    assert batch[first + 68:first + 76] == bytes.fromhex("58 02 00 00 01 00 01 00")
    assert struct.unpack_from("<HH", batch, first + 76) == (1, 2)  # the tag after them
    assert struct.unpack_from("<II", batch, second + 68) == (5, 1)
    assert struct.unpack_from("<II", batch, third + 68) == (0, 0)
