"""A producer's own counters and the reasons it drops frames."""
from dataclasses import dataclass, field

#: Why frames were dropped instead of sent (same names as the Swift client):
#: ``invalid_frame`` the frame broke the format's rules; ``queue_full`` every batch
#: buffer was waiting for the sender; ``collector_unavailable`` libzmq could not queue
#: the batch (no collector connected, or its high-water mark reached); ``send_failed``
#: another libzmq error; ``close_timeout`` still buffered when ``close`` ran out of
#: time; ``closed`` recorded after ``close``.
DROP_REASONS = ("invalid_frame", "queue_full", "collector_unavailable", "send_failed",
                "close_timeout", "closed")


@dataclass(frozen=True)
class Counters:
    """A snapshot of a client's counters. Once the client is closed,
    ``frames_recorded == frames_sent + frames_dropped`` holds exactly."""

    #: Calls to ``record``.
    frames_recorded: int = 0
    #: Frames in batches libzmq accepted for sending.
    frames_sent: int = 0
    batches_sent: int = 0
    #: Frames dropped, by reason (every name of ``DROP_REASONS`` is present).
    dropped: dict = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))

    @property
    def frames_dropped(self):
        return sum(self.dropped.values())

    @property
    def frames_buffered(self):
        """Frames recorded but neither sent nor dropped yet (still in buffers)."""
        return self.frames_recorded - self.frames_sent - self.frames_dropped
