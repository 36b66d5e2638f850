"""Measures one request's queue time, time to first token and total latency."""
import time


class RequestTimer:
    """Start it when the request arrives; mark the start of inference, the first
    streamed token and the end. Times are microseconds on the monotonic clock; the
    event time is the wall-clock arrival in microseconds since the Unix epoch.

    Marking twice keeps the first mark (a second "first token" is not the first);
    :meth:`fields` gives the keyword arguments of :meth:`TallyClient.record`::

        timer = RequestTimer()
        ...                       # queued
        timer.inference_started()
        for chunk in stream():
            timer.first_token()   # only the first call counts
            yield chunk
        timer.finish()
        client.record(model="m", **timer.fields(), output_tokens=n)

    Not thread-safe; one timer per request.
    """

    __slots__ = ("event_time_us", "_start_ns", "_inference_ns", "_first_token_ns", "_end_ns")

    def __init__(self):
        self.event_time_us = time.time_ns() // 1000
        self._start_ns = time.monotonic_ns()
        self._inference_ns = None
        self._first_token_ns = None
        self._end_ns = None

    def inference_started(self):
        """Marks the end of queueing (once)."""
        if self._inference_ns is None:
            self._inference_ns = time.monotonic_ns()

    def first_token(self):
        """Marks the first output token (once); cheap enough to call for every chunk."""
        if self._first_token_ns is None:
            self._first_token_ns = time.monotonic_ns()

    def finish(self):
        """Marks the end of the response (once)."""
        if self._end_ns is None:
            self._end_ns = time.monotonic_ns()

    def _micros(self, mark_ns):
        return (mark_ns - self._start_ns) // 1000

    @property
    def total_latency_us(self):
        """From arrival to :meth:`finish` (or to now, when not finished), in us."""
        end = self._end_ns if self._end_ns is not None else time.monotonic_ns()
        return min(self._micros(end), 0xFFFFFFFF)

    @property
    def ttft_us(self):
        """From arrival to the first token in us; ``None`` when no token was marked."""
        if self._first_token_ns is None:
            return None
        return min(self._micros(self._first_token_ns), self.total_latency_us)

    @property
    def queue_time_us(self):
        """From arrival to :meth:`inference_started`, in us; 0 when never marked."""
        if self._inference_ns is None:
            return 0
        return min(self._micros(self._inference_ns), self.total_latency_us)

    def fields(self):
        """``event_time_us``, ``queue_time_us``, ``ttft_us`` and ``total_latency_us``
        for :meth:`TallyClient.record`; finishes the timer if it is still running."""
        self.finish()
        return {
            "event_time_us": self.event_time_us,
            "queue_time_us": self.queue_time_us,
            "ttft_us": self.ttft_us,
            "total_latency_us": self.total_latency_us,
        }
