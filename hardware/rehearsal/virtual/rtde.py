"""The RTDE wire format (UR's Real-Time Data Exchange, protocol version 2), server side.

Every packet is ``uint16 size`` (the whole packet, header included), ``uint8 type``, then the
payload; all numbers are big-endian. A client negotiates the protocol version (``V``), asks for
the controller version (``v``), sets up an output recipe (``O``: a frequency and the names of
the fields it wants) and input recipes (``I``: the names of the registers it will write), starts
(``S``) and pauses (``P``) the stream; data packages (``U``) carry a recipe id and the recipe's
fields in order. Facts from Universal Robots' RTDE guide and from watching ur_rtde 1.6.5.
"""

from __future__ import annotations

import re
import socket
import struct
from dataclasses import dataclass

from robostack.hardware.rehearsal.virtual.server import read_exactly

HEADER = struct.Struct(">HB")
PROTOCOL_VERSION = 2

REQUEST_PROTOCOL_VERSION = ord("V")
GET_URCONTROL_VERSION = ord("v")
TEXT_MESSAGE = ord("M")
DATA_PACKAGE = ord("U")
SETUP_OUTPUTS = ord("O")
SETUP_INPUTS = ord("I")
START = ord("S")
PAUSE = ord("P")


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# RTDE type name -> struct code of its encoding
ENCODINGS = {
    "BOOL": "?",
    "UINT8": "B",
    "UINT32": "I",
    "UINT64": "Q",
    "INT32": "i",
    "DOUBLE": "d",
    "VECTOR3D": "3d",
    "VECTOR6D": "6d",
    "VECTOR6INT32": "6i",
    "VECTOR6UINT32": "6I",
}

_VECTOR6D = _names(
    "target_q target_qd target_qdd target_current target_moment actual_q actual_qd actual_qdd "
    "actual_current actual_current_as_torque actual_moment joint_control_output "
    "actual_TCP_pose actual_TCP_speed actual_TCP_force target_TCP_pose target_TCP_speed "
    "joint_temperatures actual_joint_voltage ft_raw_wrench payload_inertia "
    "external_force_torque"
)

_DOUBLE = _names(
    "timestamp actual_execution_time speed_scaling target_speed_fraction actual_momentum "
    "actual_main_voltage actual_robot_voltage actual_robot_current standard_analog_input0 "
    "standard_analog_input1 standard_analog_output0 standard_analog_output1 payload "
    "speed_slider_fraction standard_analog_output_0 standard_analog_output_1"
)

_UINT32 = _names(
    "runtime_state robot_status_bits safety_status_bits output_bit_registers0_to_31 "
    "output_bit_registers32_to_63 speed_slider_mask"
)

_UINT8 = _names(
    "standard_digital_output_mask standard_digital_output configurable_digital_output_mask "
    "configurable_digital_output tool_digital_output_mask tool_digital_output "
    "standard_analog_output_mask standard_analog_output_type"
)
FIELD_TYPES = {
    **dict.fromkeys(_VECTOR6D, "VECTOR6D"),
    **dict.fromkeys(_DOUBLE, "DOUBLE"),
    **dict.fromkeys(_UINT32, "UINT32"),
    **dict.fromkeys(_UINT8, "UINT8"),
    **dict.fromkeys(("actual_tool_accelerometer", "payload_cog"), "VECTOR3D"),
    **dict.fromkeys(("actual_digital_input_bits", "actual_digital_output_bits"), "UINT64"),
    **dict.fromkeys(("robot_mode", "safety_mode"), "INT32"),
    "joint_mode": "VECTOR6INT32",
}
_REGISTER = re.compile(r"(input|output)_(int|double)_register_(\d+)$")


def field_type(name: str) -> str | None:
    """The RTDE type of field ``name`` (registers 0-47 included), or None for an unknown one."""
    match = _REGISTER.match(name)
    if match:
        return ("INT32" if match[2] == "int" else "DOUBLE") if int(match[3]) < 48 else None
    return FIELD_TYPES.get(name)


class ProtocolError(Exception):
    """The peer broke the RTDE framing; the connection is closed."""


@dataclass(frozen=True)
class Recipe:
    """The fields of one output or input recipe, in order, and their packing.

    Attributes:
        id: the recipe id (1-255).
        names: field names, as the client listed them.
        types: their RTDE types.
    """

    id: int
    names: tuple[str, ...]
    types: tuple[str, ...]

    @property
    def layout(self) -> struct.Struct:
        return struct.Struct(">" + "".join(ENCODINGS[t] for t in self.types))

    def encode(self, values: dict) -> bytes:
        """A ``U`` payload: the recipe id, then ``values[name]`` for each field (zero for a
        field ``values`` lacks)."""
        flat: list = []
        for name, kind in zip(self.names, self.types, strict=True):
            width = _width(kind)
            value = values.get(name, [0] * width if width > 1 else 0)
            flat.extend(value if width > 1 else (value,))
        return bytes((self.id,)) + self.layout.pack(*flat)

    def decode(self, payload: bytes) -> dict:
        """Field values from a ``U`` payload after its recipe id. Tolerant as a controller is:
        a short package fills what it carries, a long one's tail is ignored."""
        layout = self.layout
        data = payload[: layout.size].ljust(layout.size, b"\0")
        flat = list(layout.unpack(data))
        values = {}
        for name, kind in zip(self.names, self.types, strict=True):
            n = _width(kind)
            values[name] = flat[:n] if n > 1 else flat[0]
            del flat[:n]
        return values


def _width(kind: str) -> int:
    """How many numbers a value of RTDE type ``kind`` holds."""
    return int(ENCODINGS[kind][0]) if kind.startswith("VECTOR") else 1


def parse_names(text: bytes) -> tuple[str, ...]:
    """Field names from a setup request (comma separated; ur_rtde ends the list with a comma)."""
    return tuple(n for n in text.decode("ascii").split(",") if n)


def setup_reply(recipe_id: int, names: tuple[str, ...], *, in_use: set[str] = frozenset()):
    """The payload answering an ``O`` or ``I`` setup, and the recipe when every name is known
    and free (else None: the reply names ``NOT_FOUND`` / ``IN_USE`` where a field failed)."""
    types = []
    for name in names:
        kind = field_type(name)
        types.append("NOT_FOUND" if kind is None else "IN_USE" if name in in_use else kind)
    ok = all(t in ENCODINGS for t in types)
    payload = bytes((recipe_id if ok else 0,)) + ",".join(types).encode("ascii")
    return payload, (Recipe(recipe_id, names, tuple(types)) if ok else None)


def packet(kind: int, payload: bytes = b"") -> bytes:
    """One packet: the header, then ``payload``."""
    return HEADER.pack(HEADER.size + len(payload), kind) + payload


def text_message(text: str, source: str = "virtual", level: int = 3) -> bytes:
    """An ``M`` packet (levels: 0 exception, 1 error, 2 warning, 3 info)."""
    message, origin = text.encode()[:255], source.encode()[:255]
    return packet(
        TEXT_MESSAGE,
        bytes((len(message),)) + message + bytes((len(origin),)) + origin + bytes((level,)),
    )


def read_packet(sock: socket.socket) -> tuple[int, bytes]:
    """The next packet's type and payload; raises `ConnectionError` when the peer closed and
    `ProtocolError` on a size below the header's."""
    size, kind = HEADER.unpack(read_exactly(sock, HEADER.size))
    if size < HEADER.size:
        raise ProtocolError(f"packet size {size} is below the 3-byte header")
    return kind, read_exactly(sock, size - HEADER.size)
