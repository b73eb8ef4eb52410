"""Checked decoding of LCM messages: nothing malformed reaches the code that acts on them.

lcm-gen's ``decode`` trusts its input: a truncated message raises an arbitrary error, and a
small message claiming a huge array makes it loop for minutes. `decode` first walks the
message's layout from the generated class's own metadata (``__slots__``, ``__typenames__``,
``__dimensions__``, nested types included) and refuses, with a `MessageError` naming the
problem, a message that is too large, has another type's fingerprint, declares a dimension
outside [0, `MAX_DIMENSION`] (a byte array, an image's data, may be as long as the message
holds), ends early, or carries bytes past its end. Only then does the generated code decode it.
"""

from __future__ import annotations

import struct
from typing import TypeVar

from robostack.core.errors import RobostackError

MAX_DIMENSION = 4096  # no array but bytes is longer (a chunk has 16 x 7 numbers)
_SIZES = {"int8_t": 1, "byte": 1, "boolean": 1, "int16_t": 2, "int32_t": 4, "int64_t": 8}
_SIZES |= {"float": 4, "double": 8}
_FORMATS = {"int8_t": ">b", "byte": ">B", "int16_t": ">h", "int32_t": ">i", "int64_t": ">q"}

M = TypeVar("M")


class MessageError(RobostackError):
    """A message that cannot be used. ``check`` names the kind of problem for safety events:
    ``ipc_oversized``, ``ipc_malformed``."""

    def __init__(
        self, check: str, message: str, *, value: float = float("nan"), limit=float("nan")
    ):
        self.check, self.value, self.limit = check, float(value), float(limit)
        super().__init__(message)


def decode(message_type: type[M], data: bytes, *, max_bytes: int) -> M:
    """``data`` decoded as ``message_type`` (an lcm-gen class), or `MessageError`."""
    name = message_type.__name__
    if len(data) > max_bytes:
        raise MessageError(
            "ipc_oversized",
            f"{name}: {len(data)} bytes, at most {max_bytes} allowed",
            value=len(data),
            limit=max_bytes,
        )
    if data[:8] != message_type._get_packed_fingerprint():
        raise MessageError("ipc_malformed", f"not a {name} (fingerprint differs)")
    end = _walk(message_type, data, 8)
    if end != len(data):
        raise MessageError(
            "ipc_malformed", f"{name}: {len(data) - end} bytes past the end of the message"
        )
    return message_type.decode(data)


def _walk(message_type: type, data: bytes, pos: int) -> int:
    """Offset of the end of the ``message_type`` that starts at ``pos`` in ``data`` (a nested
    one has no fingerprint of its own), checking every dimension on the way."""
    name, scalars = message_type.__name__, {}
    fields = zip(
        message_type.__slots__,
        message_type.__typenames__,
        message_type.__dimensions__,
        strict=True,
    )
    try:
        for field, kind, dimensions in fields:
            count = 1
            for dimension in dimensions or ():
                n = dimension if isinstance(dimension, int) else scalars[dimension]
                if n < 0 or (
                    n > MAX_DIMENSION and kind != "byte"
                ):  # bytes: truncated if past the end
                    raise MessageError(
                        "ipc_malformed",
                        f"{name}.{field}: {dimension} = {n}, allowed [0, {MAX_DIMENSION}]",
                        value=n,
                        limit=MAX_DIMENSION,
                    )
                count *= n
            if kind == "string":
                for _ in range(count):
                    (length,) = struct.unpack_from(">I", data, pos)
                    pos += 4 + length
            elif kind in _SIZES:
                if dimensions is None and kind in _FORMATS:
                    scalars[field] = struct.unpack_from(_FORMATS[kind], data, pos)[0]
                pos += count * _SIZES[kind]
            else:
                nested = _nested(kind)
                for _ in range(count):
                    pos = _walk(nested, data, pos)
            if pos > len(data):
                raise struct.error("past the end")
    except struct.error:
        raise MessageError("ipc_malformed", f"{name}: truncated ({len(data)} bytes)") from None
    return pos


def _nested(kind: str) -> type:
    """The generated class of a nested field's type name, e.g.
    "robostack.transport.lcmtypes.image_t"."""
    from robostack.transport import lcmtypes

    package, _, type_name = kind.rpartition(".")
    if package != lcmtypes.__name__ or not hasattr(lcmtypes, type_name):
        raise TypeError(f"unknown nested LCM type {kind!r}")
    return getattr(lcmtypes, type_name)
