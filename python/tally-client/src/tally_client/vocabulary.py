"""The enumerations of wire format v1 (Sources/TallyWire/FORMAT.md, frame bytes 60-65).

Every place that takes one of these accepts the enum member, its integer value or its
lower-case name (``"rate_limited"``); the lookup tables below map all three to the byte.
"""
from enum import IntEnum, IntFlag


class Status(IntEnum):
    """How the request ended (frame byte 60)."""
    OK = 0
    ERROR = 1
    TIMEOUT = 2
    RATE_LIMITED = 3
    CANCELLED = 4
    OTHER = 5


class Ring(IntEnum):
    """Which deployment ring served the request (frame byte 61)."""
    STABLE = 0
    CANARY = 1
    SHADOW = 2


class Task(IntEnum):
    """Whether the task the request served succeeded (frame byte 62, bits 3-4)."""
    UNKNOWN = 0
    SUCCESS = 1
    FAILURE = 2


class Feedback(IntEnum):
    """Explicit user feedback (frame byte 62, bits 5-6)."""
    NONE = 0
    UP = 1
    DOWN = 2


class Severity(IntEnum):
    """Severity of the worst safety incident (frame byte 63)."""
    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


class SafetyKind(IntFlag):
    """Policy-violation kinds seen on the request (frame bytes 64-65, a bit set)."""
    HATE = 1 << 0
    HARASSMENT = 1 << 1
    SELF_HARM = 1 << 2
    SEXUAL = 1 << 3
    VIOLENCE = 1 << 4
    ILLICIT = 1 << 5
    PRIVACY = 1 << 6
    PROMPT_INJECTION = 1 << 7
    UNGROUNDED = 1 << 8
    COPYRIGHT = 1 << 9
    OTHER = 1 << 15


#: Every safety-kind bit v1 defines; bits 10-14 are reserved and must be zero.
SAFETY_KINDS_DEFINED = 0b1000_0011_1111_1111


def _codes(enum):
    """Maps members, integer values and lower-case names to the wire value."""
    table = {}
    for member in enum:
        table[int(member)] = int(member)
        table[member.name.lower()] = int(member)
    return table


STATUS_CODES = _codes(Status)
RING_CODES = _codes(Ring)
TASK_CODES = _codes(Task)
FEEDBACK_CODES = _codes(Feedback)
SEVERITY_CODES = _codes(Severity)
SAFETY_KIND_CODES = {member.name.lower(): int(member) for member in SafetyKind}
