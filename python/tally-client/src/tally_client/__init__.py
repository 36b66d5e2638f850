"""Tally producer library: one trace frame per inference request, sent in batches of
wire format v1 over ZeroMQ. See README.md and Sources/TallyWire/FORMAT.md."""
from .client import TallyClient, read_curve_key
from .counters import DROP_REASONS, Counters
from .encoder import BatchEncoder
from .errors import FrameError
from .identifier_hash import identifier_hash
from .request_timer import RequestTimer
from .trace_frame import TraceFrame
from .vocabulary import Feedback, Ring, SafetyKind, Severity, Status, Task

__all__ = [
    "TallyClient", "read_curve_key", "Counters", "DROP_REASONS", "BatchEncoder", "FrameError", "identifier_hash",
    "RequestTimer", "TraceFrame", "Feedback", "Ring", "SafetyKind", "Severity", "Status", "Task",
]
