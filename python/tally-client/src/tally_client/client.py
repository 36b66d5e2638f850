"""The producer: what an inference server calls once per request."""
import atexit
import collections
import functools
import random
import threading
import time

import zmq

from .counters import DROP_REASONS, Counters
from .encoder import MAX_BATCH_BYTES, MIN_BATCH_BYTES, BatchEncoder
from .identifier_hash import identifier_hash

_monotonic_ns = time.monotonic_ns
_time_ns = time.time_ns
#: Ids repeat across requests (a user sends many); pure-Python FNV-1a costs several us
#: for a short id, a cache hit a fraction of that. Bounded: 16,384 recent ids.
_cached_hash = functools.lru_cache(maxsize=16_384)(identifier_hash)


# RFC 32's Z85 alphabet; a CURVE key is 32 bytes, 40 characters of it.
_Z85 = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")


def _is_z85_key(key):
    return isinstance(key, str) and len(key) == 40 and all(c in _Z85 for c in key)


def read_curve_key(path):
    """The key in a file written by ``tallyd keygen`` (``.key`` or ``.pub``): its one line
    that is not empty and not a ``#`` comment. Raises ``ValueError`` when there is not
    exactly one 40-character Z85 key."""
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) != 1 or not _is_z85_key(lines[0]):
        raise ValueError(f"{path}: expected one 40-character Z85 CURVE key (tallyd keygen)")
    return lines[0]


class TallyClient:
    """Sends trace frames to Tally collectors over ZeroMQ (PUSH), in batches of wire
    format v1 (Sources/TallyWire/FORMAT.md).

    :meth:`record` never blocks on the network and never raises for bad values: it
    encodes the frame into the current batch under a short lock (no I/O under it) and
    returns. A batch is handed to a background thread when it is full
    (``batch_bytes``, 64 KiB) or ``max_batch_age_ms`` after its first frame; that
    thread sends it with ``zmq.DONTWAIT`` on a socket with ``ZMQ_IMMEDIATE``. When no
    collector is connected or it is behind, batches are dropped and counted by reason
    (:attr:`counters`), never queued without bound: at most ``queue_depth`` sealed
    batches wait for the sender.

    Safe to call from many threads. Use it as a context manager or call
    :meth:`close` before exit; after ``close``, ``frames_recorded == frames_sent +
    frames_dropped`` exactly. An open client is closed at interpreter exit with
    ``close_at_exit_timeout`` seconds. Create it after ``fork()`` (in each worker),
    not before: the sender thread does not survive a fork.

    ``id_secret``: a per-fleet prefix for the ``user_id``/``session_id`` hashes, when ids
    are guessable (every producer of the fleet must use the same one).

    CURVE (ZeroMQ's authenticated encryption, for a collector with
    ``curve_secret_key_file``): ``server_public_key`` is the collector's public key,
    ``curve_public_key``/``curve_secret_key`` this producer's key pair, whose public key
    must be in the collector's ``curve_allowed_producers_dir``. Each is the 40-character
    Z85 text that ``tallyd keygen`` writes (:func:`read_curve_key` reads its files); all
    three or none. A producer the collector refuses gets nothing in: its batches are
    dropped as ``collector_unavailable``, and the collector counts the refusal by reason.

    Raises ``ValueError`` for bad settings and ``zmq.ZMQError`` for a malformed
    endpoint; a collector that is not running is not an error.
    """

    def __init__(self, endpoints, *, batch_bytes=65_536, max_batch_age_ms=5.0, queue_depth=32,
                 send_high_water_mark=64, producer_id=None, close_at_exit_timeout=1.0,
                 id_secret="", server_public_key=None, curve_public_key=None, curve_secret_key=None):
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        endpoints = list(endpoints)
        if not endpoints:
            raise ValueError("TallyClient needs at least one endpoint")
        if not MIN_BATCH_BYTES <= batch_bytes <= MAX_BATCH_BYTES:
            raise ValueError(f"batch_bytes {batch_bytes} outside {MIN_BATCH_BYTES}...{MAX_BATCH_BYTES}")
        if not 0 < max_batch_age_ms <= 60_000:
            raise ValueError("max_batch_age_ms must be in (0, 60000]")
        if queue_depth < 1:
            raise ValueError("queue_depth must be at least 1")
        if producer_id is None:
            producer_id = random.getrandbits(64) or 1
        if not 0 <= producer_id < 1 << 64:
            raise ValueError("producer_id must fit in 64 bits")
        curve = (server_public_key, curve_public_key, curve_secret_key)
        if any(key is not None for key in curve):
            if any(key is None for key in curve):
                raise ValueError("CURVE needs server_public_key, curve_public_key and curve_secret_key together")
            for name, key in zip(("server_public_key", "curve_public_key", "curve_secret_key"), curve):
                if not _is_z85_key(key):
                    raise ValueError(f"{name} is not a 40-character Z85 CURVE key (tallyd keygen)")
            if not zmq.has("curve"):
                raise ValueError("this libzmq was built without CURVE (zmq.has('curve') is false)")
        self.endpoints = endpoints
        self.batch_bytes = batch_bytes
        self.max_batch_age_ms = max_batch_age_ms
        self.queue_depth = queue_depth
        self.producer_id = producer_id
        self._id_secret = id_secret

        # An own context: closing it never disturbs the application's ZeroMQ sockets.
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.PUSH)
        try:
            self._socket.setsockopt(zmq.IMMEDIATE, 1)
            self._socket.setsockopt(zmq.SNDHWM, send_high_water_mark)
            self._socket.setsockopt(zmq.LINGER, 0)
            if server_public_key is not None:
                self._socket.setsockopt(zmq.CURVE_SERVERKEY, server_public_key.encode("ascii"))
                self._socket.setsockopt(zmq.CURVE_PUBLICKEY, curve_public_key.encode("ascii"))
                self._socket.setsockopt(zmq.CURVE_SECRETKEY, curve_secret_key.encode("ascii"))
            for endpoint in endpoints:
                self._socket.connect(endpoint)
        except BaseException:
            self._socket.close(0)
            self._context.term()
            raise

        self._lock = threading.Lock()
        self._wake_sender = threading.Condition(self._lock)
        self._progress = threading.Condition(self._lock)
        # Everything below is guarded by _lock.
        self._encoder = BatchEncoder(batch_bytes, producer_id)
        self._first_frame_ns = 0
        self._ready = collections.deque()
        self._sending = 0
        self._sender_idle = False
        self._stopping = False
        self._drainers = 0
        self._deadline_ns = 0
        self._closed = False
        self._sequence = 0
        self._recorded = 0
        self._sent_frames = 0
        self._sent_batches = 0
        self._dropped = dict.fromkeys(DROP_REASONS, 0)
        self._last_invalid = None

        self._close_at_exit_timeout = close_at_exit_timeout
        self._thread = threading.Thread(target=self._run_sender, name="tally-sender", daemon=True)
        self._thread.start()
        atexit.register(self._close_at_exit)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # Recording

    def record(self, *, model=None, total_latency_us=0, event_time_us=None, model_version=None,
               prompt_version=None, route=None, ring=0, tags=None, queue_time_us=0, ttft_us=None,
               input_tokens=0, output_tokens=0, cached_input_tokens=0,
               cache_creation_input_tokens=0, reasoning_output_tokens=0, status=0,
               error_class=None, refusal=False, escalation=False, fallback=False, task=0,
               feedback=0, safety_severity=0, safety_kinds=0, user_hash=0, session_hash=0,
               category_id=None, user_id=None, session_id=None):
        """Records one request. Never blocks on I/O; never raises for a bad value (the
        frame is dropped as ``invalid_frame``, see :attr:`last_invalid_frame_error`).

        - ``model``: model name, required, 1-255 UTF-8 bytes; ``model_version``,
          ``prompt_version``, ``route``, ``error_class``: the same, or ``None``.
        - ``event_time_us``: arrival, us since the Unix epoch (default: now).
        - ``total_latency_us``, ``queue_time_us`` (<= total), ``ttft_us`` (time to first
          token, <= total; ``None`` when not streamed or no token): microseconds, u32.
        - Tokens, u32 counts, all 0 by default: ``input_tokens`` (the whole prompt,
          including the tokens read from and written to a prompt cache);
          ``cached_input_tokens`` (prompt tokens read from a cache, cache hits) and
          ``cache_creation_input_tokens`` (prompt tokens written to a cache, cache
          writes), cached + cache_creation <= input; ``output_tokens`` (including
          reasoning tokens); ``reasoning_output_tokens`` (output tokens spent on
          reasoning, <= output).
        - ``status``: :class:`Status` (``"ok"``, ``"error"``, ``"timeout"``,
          ``"rate_limited"``, ``"cancelled"``, ``"other"``); ``ring``: :class:`Ring`
          (``"stable"``, ``"canary"``, ``"shadow"``).
        - ``refusal``, ``escalation``, ``fallback``: bools; ``task``: :class:`Task`;
          ``feedback``: :class:`Feedback`.
        - ``safety_severity``: :class:`Severity`; ``safety_kinds``: :class:`SafetyKind`
          bits or names; empty exactly when the severity is ``"none"``.
        - ``tags``: dict (or (key, value) pairs) of cohort tags, at most 8.
        - ``user_hash``, ``session_hash``: :func:`identifier_hash` values, 0 = unknown;
          or pass the raw ``user_id`` / ``session_id`` and they are hashed here (the
          raw ids never reach the wire).
        - ``category_id``: input category for drift, 0...65534, or ``None``.
        """
        if event_time_us is None:
            event_time_us = _time_ns() // 1000
        lock = self._lock
        lock.acquire()
        try:
            self._recorded += 1
            if self._closed:
                self._dropped["closed"] += 1
                return
            if user_id is not None:
                user_hash = _cached_hash(user_id, self._id_secret)
            if session_id is not None:
                session_hash = _cached_hash(session_id, self._id_secret)
            encoder = self._encoder
            for _ in range(2):
                if encoder.frame_count == 0:
                    self._first_frame_ns = _monotonic_ns()
                    if self._sender_idle:
                        self._wake_sender.notify()
                if encoder.append(event_time_us, model, model_version, prompt_version, route, ring,
                                  tags, queue_time_us, ttft_us, total_latency_us, input_tokens,
                                  output_tokens, cached_input_tokens, status, error_class, refusal,
                                  escalation, fallback, task, feedback, safety_severity,
                                  safety_kinds, user_hash, session_hash, category_id,
                                  cache_creation_input_tokens, reasoning_output_tokens):
                    return
                self._seal()
                encoder = self._encoder
            # Unreachable: an empty batch takes any valid frame or raises over_limit.
            self._dropped["invalid_frame"] += 1
        except Exception as error:  # noqa: BLE001 - the hot path never raises
            self._dropped["invalid_frame"] += 1
            self._last_invalid = error
        finally:
            lock.release()

    def record_frame(self, frame):
        """Records a :class:`TraceFrame`, with the promises of :meth:`record`."""
        try:
            fields = vars(frame)
        except TypeError as error:
            with self._lock:
                self._recorded += 1
                self._dropped["invalid_frame"] += 1
                self._last_invalid = error
            return
        self.record(**fields)

    def _seal(self):
        """Hands the current batch to the sender, or drops it as ``queue_full`` when
        ``queue_depth`` batches already wait (lock held)."""
        encoder = self._encoder
        if encoder.frame_count == 0:
            return
        if len(self._ready) < self.queue_depth:
            self._ready.append(encoder)
            self._wake_sender.notify()
        else:
            self._dropped["queue_full"] += encoder.frame_count
        self._encoder = BatchEncoder(self.batch_bytes, self.producer_id)

    # Sending (the sender thread)

    def _run_sender(self):
        age_ns = int(self.max_batch_age_ms * 1_000_000)
        with self._lock:
            while True:
                if self._stopping and _monotonic_ns() >= self._deadline_ns:
                    break
                if self._ready:
                    encoder = self._ready.popleft()
                    self._sending += 1
                    sequence = self._sequence
                    deadline = self._deadline_ns if self._drainers or self._stopping else None
                    self._lock.release()
                    try:
                        outcome = self._send(encoder.finish(sequence), deadline)
                    finally:
                        self._lock.acquire()
                    if outcome is None:
                        self._sent_frames += encoder.frame_count
                        self._sent_batches += 1
                        self._sequence += 1
                    else:
                        self._dropped[outcome] += encoder.frame_count
                    self._sending -= 1
                    self._progress.notify_all()
                    continue
                if self._stopping:
                    break
                if self._encoder.frame_count:
                    due = self._first_frame_ns + age_ns
                    now = _monotonic_ns()
                    if now >= due:
                        self._seal()
                    else:
                        self._wake_sender.wait((due - now) / 1e9)
                else:
                    self._sender_idle = True
                    self._wake_sender.wait()
                    self._sender_idle = False

    def _send(self, data, deadline_ns):
        """Sends one batch: at once or not at all, or (flush and close) waiting for
        the collector until ``deadline_ns``. Returns ``None`` or the drop reason."""
        socket = self._socket
        try:
            if deadline_ns is None:
                socket.send(data, zmq.DONTWAIT)
            else:
                left_ms = max(0, (deadline_ns - _monotonic_ns()) // 1_000_000)
                socket.setsockopt(zmq.SNDTIMEO, min(left_ms, 60_000))
                socket.send(data)
            return None
        except zmq.Again:
            return "collector_unavailable"
        except zmq.ZMQError:
            return "send_failed"

    # Flush and close

    def flush(self, timeout=2.0):
        """Sends everything recorded so far, waiting for a slow or absent collector up
        to ``timeout`` seconds. Returns ``True`` when nothing is left buffered (all
        sent or counted as dropped) in time."""
        deadline = _monotonic_ns() + int(max(0.0, timeout) * 1e9)
        with self._lock:
            self._drainers += 1
            self._deadline_ns = max(self._deadline_ns, deadline)
            try:
                # Wait for room rather than drop the current batch as queue_full.
                while len(self._ready) >= self.queue_depth and self._thread.is_alive():
                    left = deadline - _monotonic_ns()
                    if left <= 0:
                        break
                    self._progress.wait(left / 1e9)
                self._seal()
                self._wake_sender.notify()
                while self._ready or self._sending:
                    left = deadline - _monotonic_ns()
                    if left <= 0 or not self._thread.is_alive():
                        break
                    self._progress.wait(left / 1e9)
                return not (self._ready or self._sending)
            finally:
                self._drainers -= 1

    def close(self, timeout=2.0):
        """Flushes within ``timeout`` seconds, stops the sender and closes the socket;
        what could not be sent in time is counted as ``close_timeout``, later
        :meth:`record` calls as ``closed``. Idempotent. Returns the final counters."""
        deadline = _monotonic_ns() + int(max(0.0, timeout) * 1e9)
        with self._lock:
            if self._closed:
                closing = False
            else:
                closing = True
                self._closed = True  # no frame enters a batch from here on
        if not closing:
            self._thread.join()
            return self.counters
        atexit.unregister(self._close_at_exit)
        self.flush(timeout)
        with self._lock:
            self._stopping = True
            self._deadline_ns = deadline
            self._wake_sender.notify()
        # Every send of the sender is bounded by the deadline, so this join is too.
        self._thread.join()
        with self._lock:
            for encoder in self._ready:
                self._dropped["close_timeout"] += encoder.frame_count
            self._ready.clear()
            self._dropped["close_timeout"] += self._encoder.frame_count
            self._encoder = BatchEncoder(self.batch_bytes, self.producer_id)
        # libzmq delivers what it accepted until the deadline, then gives up.
        left_ms = max(0, (deadline - _monotonic_ns()) // 1_000_000)
        self._socket.setsockopt(zmq.LINGER, min(left_ms, 60_000))
        self._socket.close()
        self._context.term()
        return self.counters

    def _close_at_exit(self):
        self.close(self._close_at_exit_timeout)

    # Counters

    @property
    def counters(self):
        """A consistent snapshot of the counters (:class:`Counters`)."""
        with self._lock:
            return Counters(self._recorded, self._sent_frames, self._sent_batches, dict(self._dropped))

    @property
    def last_invalid_frame_error(self):
        """Why the most recent invalid frame was refused (an exception), or ``None``."""
        with self._lock:
            return self._last_invalid

    @property
    def closed(self):
        with self._lock:
            return self._closed
