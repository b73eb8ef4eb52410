"""Operator stops and their acknowledgements as messages, far inside the STOP channel's limit.

`stop_message` cuts the source and reason to `MAX_TEXT_BYTES` each (UTF-8, at a character
boundary), so that no reason, however long or in whatever script, makes a stop too large for
the channel (`robostack.transport.config.CHANNELS`): a stop of the longest texts has
`MAX_STOP_BYTES` bytes. A control process answers every stop it takes with `ack_message` on the
STOP_ACK channel; `robostack stop` lists those answers.
"""

from __future__ import annotations

from robostack.transport import lcmtypes

MAX_TEXT_BYTES = 256
MAX_STOP_BYTES = 8 + 8 + 2 * (4 + MAX_TEXT_BYTES + 1)  # fingerprint, utime, two strings


def cut(text: str, limit: int = MAX_TEXT_BYTES) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, at a character boundary; "..." marks a
    cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "..."


def stop_message(*, source: str, reason: str, utime: int) -> lcmtypes.operator_stop_t:
    """An operator stop of at most `MAX_STOP_BYTES` bytes encoded."""
    msg = lcmtypes.operator_stop_t()
    msg.utime, msg.source, msg.reason = utime, cut(source), cut(reason)
    return msg


def ack_message(
    *, utime: int, session: int, stop_utime: int, stop_source: str, process: str, state: str
) -> lcmtypes.operator_stop_ack_t:
    """A control process's acknowledgement of the stop (``stop_utime``, ``stop_source``)."""
    msg = lcmtypes.operator_stop_ack_t()
    msg.utime, msg.session, msg.stop_utime = utime, session, stop_utime
    msg.stop_source, msg.process, msg.state = cut(stop_source), cut(process), cut(state)
    return msg
