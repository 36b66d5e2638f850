"""Encodes trace frames into one batch of wire format v1 (Sources/TallyWire/FORMAT.md).

Written from the specification's tables: a 40-byte header, frames of 76 bytes
(revision 1.1: the 68 bytes of revision 1.0, then cache writes and reasoning tokens)
plus 4 bytes per tag, and a string table of length-prefixed UTF-8 strings interned
once per batch. Not thread-safe: :class:`~tally_client.TallyClient` guards it with a lock.
"""
import struct

from .errors import FrameError
from .vocabulary import (
    FEEDBACK_CODES, RING_CODES, SAFETY_KIND_CODES, SAFETY_KINDS_DEFINED,
    SEVERITY_CODES, STATUS_CODES, TASK_CODES,
)

MAGIC = b"TLYB"
VERSION = 1
HEADER_LENGTH = 40
#: Fixed frame bytes, revision 1.1 (1.0 had 68; collectors read absent fields as 0).
FRAME_LENGTH = 76
TAG_LENGTH = 4
MAX_BATCH_BYTES = 1_048_576
MIN_BATCH_BYTES = 1024
MAX_FRAMES = 16_384
MAX_STRINGS = 4_096
MAX_STRING_BYTES = 255
MAX_TAGS = 8
NO_STRING = 0xFFFF
ABSENT_32 = 0xFFFFFFFF
NO_CATEGORY = 0xFFFF

#: Header: magic, version, flags, header_length, batch_length, string_table_offset,
#: frame_count, string_count, frame_length, reserved, producer_id, sequence.
HEADER = struct.Struct("<4sBBHIIHHHHQQ")
#: Frame fixed part: event_time, user_hash, session_hash, queue_time, ttft,
#: total_latency, input, output, cached, model, model_version, prompt_version, route,
#: error_class, category_id, status, ring, outcome, severity, kinds, tag_count, reserved,
#: then (revision 1.1, bytes 68-75) cache_creation_input_tokens, reasoning_output_tokens.
FRAME = struct.Struct("<QQQIIIIIIHHHHHHBBBBHBBII")
TAG = struct.Struct("<HH")
assert HEADER.size == HEADER_LENGTH and FRAME.size == FRAME_LENGTH

_pack_frame = FRAME.pack
#: The tags of a frame with n tags, packed at once: n (key ref, value ref) pairs.
_TAG_LISTS = [struct.Struct("<" + "HH" * n) for n in range(MAX_TAGS + 1)]


def safety_kinds_bits(kinds):
    """The safety-kinds bit set of an ``int``/:class:`SafetyKind` or of an iterable of
    kind names or members. Raises :class:`FrameError` on an unknown name."""
    if isinstance(kinds, int):
        return int(kinds)
    bits = 0
    for kind in kinds:
        if isinstance(kind, int):
            bits |= int(kind)
        else:
            bit = SAFETY_KIND_CODES.get(kind)
            if bit is None:
                raise FrameError("value_out_of_range", "safety_kinds", kind)
            bits |= bit
    return bits


_ENUM_CODES = {"status": STATUS_CODES, "ring": RING_CODES, "task": TASK_CODES,
               "feedback": FEEDBACK_CODES, "safety_severity": SEVERITY_CODES}


def _enum_error(**values):
    """The error for the first enum field whose value has no wire code."""
    for field, value in values.items():
        if _ENUM_CODES[field].get(value) is None:
            return FrameError("value_out_of_range", field, value)
    raise AssertionError("no invalid enum value")


class BatchEncoder:
    """One batch being built: :meth:`append` frames until it returns ``False`` (full),
    then :meth:`finish` gives the message bytes; a new encoder starts the next batch.

    ``capacity`` is the batch size limit in bytes (1 KiB ... 1 MiB, default 64 KiB).
    """

    __slots__ = ("capacity", "producer_id", "frame_count", "_frames", "_refs",
                 "_strings", "_string_bytes", "_room")

    def __init__(self, capacity=65_536, producer_id=0):
        if not MIN_BATCH_BYTES <= capacity <= MAX_BATCH_BYTES:
            raise ValueError(f"batch capacity {capacity} outside {MIN_BATCH_BYTES}...{MAX_BATCH_BYTES}")
        self.capacity = capacity
        self.producer_id = producer_id
        self.frame_count = 0
        self._frames = bytearray()
        self._refs = {}          # string -> reference
        self._strings = []       # encoded entries (length byte + UTF-8), by reference
        self._string_bytes = 0
        # Bytes left for frames and strings.
        self._room = capacity - HEADER_LENGTH

    @property
    def byte_count(self):
        """The size the batch would have if finished now, in bytes."""
        return HEADER_LENGTH + len(self._frames) + self._string_bytes

    def _intern_new(self, string, field):
        """Adds a string not yet in the table (tentatively: :meth:`_roll_back` removes it)."""
        if type(string) is not str:
            raise FrameError("bad_string", field, string)
        try:
            data = string.encode("utf-8")  # strict: lone surrogates are refused
        except UnicodeEncodeError:
            raise FrameError("bad_string", field, string) from None
        length = len(data)
        if length == 0 or length > MAX_STRING_BYTES:
            raise FrameError("bad_string", field, string)
        reference = len(self._strings)
        self._refs[string] = reference
        self._strings.append(bytes((length,)) + data)
        self._string_bytes += 1 + length
        return reference

    def _roll_back(self, mark, bytes_mark):
        """Removes the strings interned since the table held ``mark`` of them."""
        refs = self._refs
        for entry in self._strings[mark:]:
            del refs[entry[1:].decode("utf-8")]
        del self._strings[mark:]
        self._string_bytes = bytes_mark

    def append(self, event_time_us, model, model_version, prompt_version, route, ring, tags,
               queue_time_us, ttft_us, total_latency_us, input_tokens, output_tokens,
               cached_input_tokens, status, error_class, refusal, escalation, fallback, task,
               feedback, safety_severity, safety_kinds, user_hash, session_hash, category_id,
               cache_creation_input_tokens=0, reasoning_output_tokens=0):
        """Adds one frame (fields as :meth:`TallyClient.record` documents them).

        The two fields of revision 1.1 come last, with defaults, so that callers
        written for revision 1.0 keep working (their frames carry 0 for both).

        Returns ``False``, the batch unchanged, when the frame does not fit (bytes,
        frames or strings); raises :class:`FrameError`, the batch unchanged, when the
        frame breaks a rule of the format or is too large for even an empty batch.
        """
        if self.frame_count >= MAX_FRAMES:
            return False
        mark = len(self._strings)
        bytes_mark = self._string_bytes
        try:
            # Values the struct cannot range-check.
            if ttft_us is None:
                ttft = ABSENT_32
            else:
                ttft = ttft_us
                if ttft == ABSENT_32 or ttft > total_latency_us:
                    raise FrameError("value_out_of_range", "ttft_us", ttft_us)
            if queue_time_us > total_latency_us:
                raise FrameError("value_out_of_range", "queue_time_us", queue_time_us)
            if cached_input_tokens > input_tokens:
                raise FrameError("value_out_of_range", "cached_input_tokens", cached_input_tokens)
            # Python ints do not overflow: the sum is checked as FORMAT.md says.
            if cached_input_tokens + cache_creation_input_tokens > input_tokens:
                raise FrameError("value_out_of_range", "cache_creation_input_tokens",
                                 cache_creation_input_tokens)
            if reasoning_output_tokens > output_tokens:
                raise FrameError("value_out_of_range", "reasoning_output_tokens",
                                 reasoning_output_tokens)
            status_code = STATUS_CODES.get(status)
            ring_code = RING_CODES.get(ring)
            task_code = TASK_CODES.get(task)
            feedback_code = FEEDBACK_CODES.get(feedback)
            severity = SEVERITY_CODES.get(safety_severity)
            if None in (status_code, ring_code, task_code, feedback_code, severity):
                raise _enum_error(status=status, ring=ring, task=task, feedback=feedback,
                                  safety_severity=safety_severity)
            kinds = safety_kinds if type(safety_kinds) is int else safety_kinds_bits(safety_kinds)
            if kinds & ~SAFETY_KINDS_DEFINED:
                raise FrameError("reserved_bits_set", "safety_kinds", kinds)
            if (severity == 0) != (kinds == 0):
                raise FrameError("value_out_of_range", "safety_kinds", kinds)
            if category_id is None:
                category = NO_CATEGORY
            elif category_id == NO_CATEGORY:
                raise FrameError("value_out_of_range", "category_id", category_id)
            else:
                category = category_id
            outcome = ((1 if refusal else 0) | (2 if escalation else 0) | (4 if fallback else 0)
                       | task_code << 3 | feedback_code << 5)

            refs = self._refs
            if model is None:
                raise FrameError("string_ref_out_of_range", "model", None)
            model_ref = refs.get(model)
            if model_ref is None:
                model_ref = self._intern_new(model, "model")
            # Optional strings: NO_STRING for None, else interned (a miss adds it).
            version_ref = NO_STRING if model_version is None else refs.get(model_version)
            if version_ref is None:
                version_ref = self._intern_new(model_version, "model_version")
            prompt_ref = NO_STRING if prompt_version is None else refs.get(prompt_version)
            if prompt_ref is None:
                prompt_ref = self._intern_new(prompt_version, "prompt_version")
            route_ref = NO_STRING if route is None else refs.get(route)
            if route_ref is None:
                route_ref = self._intern_new(route, "route")
            error_ref = NO_STRING if error_class is None else refs.get(error_class)
            if error_ref is None:
                error_ref = self._intern_new(error_class, "error_class")

            tag_bytes = b""
            tag_count = 0
            if tags:
                mapping = hasattr(tags, "items")  # its keys are distinct, so are their refs
                tag_refs = []  # key, value, key, value, ...
                for key, value in (tags.items() if mapping else tags):
                    key_ref = refs.get(key)
                    if key_ref is None:
                        key_ref = self._intern_new(key, "tag.key")
                    value_ref = refs.get(value)
                    if value_ref is None:
                        value_ref = self._intern_new(value, "tag.value")
                    tag_refs += (key_ref, value_ref)
                tag_count = len(tag_refs) >> 1
                if tag_count > MAX_TAGS:
                    raise FrameError("too_many_tags", "tags", tag_count)
                if not mapping and len(set(tag_refs[::2])) != tag_count:
                    raise FrameError("duplicate_tag_key", "tags", tags)
                tag_bytes = _TAG_LISTS[tag_count].pack(*tag_refs)

            try:
                fixed = _pack_frame(
                    event_time_us, user_hash, session_hash, queue_time_us, ttft, total_latency_us,
                    input_tokens, output_tokens, cached_input_tokens, model_ref, version_ref,
                    prompt_ref, route_ref, error_ref, category, status_code, ring_code, outcome,
                    severity, kinds, tag_count, 0, cache_creation_input_tokens,
                    reasoning_output_tokens)
            except struct.error as error:
                raise FrameError("value_out_of_range", "numeric field", str(error)) from None
        except BaseException:
            if len(self._strings) != mark:
                self._roll_back(mark, bytes_mark)
            raise

        frames = self._frames
        if (len(frames) + FRAME_LENGTH + len(tag_bytes) + self._string_bytes > self._room
                or len(self._strings) > MAX_STRINGS):
            if len(self._strings) != mark:
                self._roll_back(mark, bytes_mark)
            if self.frame_count == 0:
                raise FrameError("over_limit", "frame", self.capacity)
            return False
        frames += fixed
        if tag_count:
            frames += tag_bytes
        self.frame_count += 1
        return True

    def finish(self, sequence):
        """The finished batch, one ZeroMQ message, with ``sequence`` in its header."""
        frames = self._frames
        string_table_offset = HEADER_LENGTH + len(frames)
        header = HEADER.pack(
            MAGIC, VERSION, 0, HEADER_LENGTH, string_table_offset + self._string_bytes,
            string_table_offset, self.frame_count, len(self._strings), FRAME_LENGTH, 0,
            self.producer_id, sequence)
        return b"".join((header, frames, *self._strings))
