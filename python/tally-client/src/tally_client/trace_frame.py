"""One inference request as a dataclass, for producers that prefer a value to keywords."""
from dataclasses import dataclass
from typing import Any, Optional


@dataclass
class TraceFrame:
    """The fields of one trace frame; ``TallyClient.record_frame(frame)`` records it.

    Units and limits as in :meth:`TallyClient.record` (and FORMAT.md). Enum fields take
    the enum member, its integer value or its lower-case name. ``tags``: a dict or a
    sequence of (key, value) pairs, at most 8, distinct keys.
    """

    model: Optional[str] = None
    total_latency_us: int = 0
    event_time_us: Optional[int] = None
    model_version: Optional[str] = None
    prompt_version: Optional[str] = None
    route: Optional[str] = None
    ring: Any = 0
    tags: Any = None
    queue_time_us: int = 0
    ttft_us: Optional[int] = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    status: Any = 0
    error_class: Optional[str] = None
    refusal: bool = False
    escalation: bool = False
    fallback: bool = False
    task: Any = 0
    feedback: Any = 0
    safety_severity: Any = 0
    safety_kinds: Any = 0
    user_hash: int = 0
    session_hash: int = 0
    category_id: Optional[int] = None
    # Revision 1.1 of the format; last, so that positional construction written for
    # 1.0 still means the same. Prompt tokens written to a prompt cache (included in
    # input_tokens; cached_input_tokens + cache_creation_input_tokens <= input_tokens)
    # and output tokens spent on reasoning (included in output_tokens, <= it): u32.
    cache_creation_input_tokens: int = 0
    reasoning_output_tokens: int = 0
