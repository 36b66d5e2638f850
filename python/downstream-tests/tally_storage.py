"""Readers of what tallyd stores and streams, written from Sources/TallyDaemon/STORAGE.md
alone: the data directory's files and records, the PUB stream's first part, and the
replay endpoint's request and reply."""
import os
import re
import struct
import zlib

import zmq

FILE_NAME = re.compile(r"^snapshots-(\d{20})(?:-(\d+))?\.tly$")
RECORD_HEADER = 20
MAX_PAYLOAD = 256 << 20
SNAPSHOT_TOPIC = b"tally.snapshot"
INDEX_TOPIC = b"tally.index"


class Record:
    def __init__(self, path, offset, sequence, payload):
        self.path, self.offset, self.sequence, self.payload = path, offset, sequence, payload


def snapshot_files(directory):
    """(name, first sequence) of tallyd's files in the directory; other files ignored."""
    found = []
    for name in os.listdir(directory):
        match = FILE_NAME.match(name)
        if match:
            found.append((name, int(match.group(1))))
    return sorted(found)


def read_records(directory):
    """Every intact record, and the number of torn ones (each ends its file's reading)."""
    records, torn = [], 0
    for name, _ in snapshot_files(directory):
        path = os.path.join(directory, name)
        with open(path, "rb") as f:
            data = f.read()
        offset = 0
        while offset < len(data):
            header = data[offset:offset + RECORD_HEADER]
            if len(header) < RECORD_HEADER or header[:4] != b"TLYS":
                torn += 1
                break
            length, crc, sequence = struct.unpack("<IIQ", header[4:])
            payload = data[offset + RECORD_HEADER:offset + RECORD_HEADER + length]
            if length > MAX_PAYLOAD or len(payload) < length or zlib.crc32(payload) != crc:
                torn += 1
                break
            records.append(Record(path, offset, sequence, payload))
            offset += RECORD_HEADER + length
    return records, torn


def stream_sequence(first_part, topic=SNAPSHOT_TOPIC):
    """The sequence in a PUB message's first part (topic + u64 little-endian), or None."""
    if len(first_part) != len(topic) + 8 or not first_part.startswith(topic):
        return None
    return struct.unpack("<Q", first_part[len(topic):])[0]


def replay(context, endpoint, first, last, timeout_ms=10_000):
    """Asks the replay endpoint for [first, last]: ("ok", [snapshot bytes]) or ("error", reason)."""
    socket = context.socket(zmq.REQ)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.RCVTIMEO, timeout_ms)
    socket.connect(endpoint)
    try:
        socket.send(f"{first} {last}".encode("ascii") if isinstance(first, int) else first)
        parts = socket.recv_multipart()
    finally:
        socket.close()
    head = parts[0].decode("utf-8")
    if head.startswith("error "):
        assert len(parts) == 1, "an error reply is one part"
        return "error", head[len("error "):]
    status, count = head.split(" ")
    assert status == "ok" and int(count) == len(parts) - 1, head
    return "ok", parts[1:]
