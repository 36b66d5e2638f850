"""Why a frame was refused by the encoder."""


class FrameError(ValueError):
    """A frame that breaks a rule of wire format v1 (FORMAT.md).

    ``reason`` is the collector's reject reason for the same fault (``bad_string``,
    ``too_many_tags``, ``value_out_of_range``, ``reserved_bits_set``,
    ``duplicate_tag_key``, ``string_ref_out_of_range``, ``over_limit``), ``field``
    the frame field at fault. :class:`~tally_client.TallyClient` never raises it: it
    counts the frame as ``invalid_frame`` and keeps the last one for diagnosis.
    """

    def __init__(self, reason, field, value=None):
        self.reason = reason
        self.field = field
        self.value = value
        super().__init__(f"{reason}: {field} = {value!r}")
