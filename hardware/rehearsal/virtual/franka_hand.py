"""`VirtualHand`: the Franka Hand's network protocol (gripper interface version 3) on the
virtual Franka's simulated fingers, which `Fingers` drives as the Hand's own controller does.

TCP port 1338: a 10-byte header (``u16 command, u32 command_id, u32 size``, size counting the
header; little-endian, packed), then the payload. Connect (0) carries the protocol version and
the client's UDP port and is answered at once; Homing (1), Grasp (2) and Move (3) are answered
once, when the fingers have finished (``u16`` status: 0 success, 2 unsuccessful, 3 aborted);
Stop (4) halts the fingers and aborts a running command. A `STATE` datagram (message id in
ms, width and maximum width in m, grasped, temperature) goes to every connected client every
`STATE_EVERY` control periods. Facts from reading libfranka 0.21's gripper client and watching
pylibfranka 0.21.3.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from robostack.hardware.rehearsal.virtual.server import FramedClient
from robostack.sim.scene import GRIPPER_KP, GRIPPER_SPEED

HEADER = struct.Struct("<HII")
STATE = struct.Struct("<Idd?H")
PORT, VERSION = 1338, 3
CONNECT, HOMING, GRASP, MOVE, STOP = 0, 1, 2, 3, 4
SUCCESS, UNSUCCESSFUL, ABORTED = 0, 2, 3
STATE_EVERY = 10  # control periods between states (100 Hz on the 1 kHz clock)
SETTLED_S, TIMEOUT_S = 0.05, 5.0  # a finger motion ends when the width holds this long
TOLERANCE = 0.002  # m: a move has arrived within this
STILL = 1e-5  # m: the width moved less than this in a period: the fingers stand still
CONTACT = 0.002  # m: a closing finger this far behind its servo target has met an object
TEMPERATURE_C = 30


class Fingers:
    """The Hand's own finger control over the simulated fingers' position servos
    (`robostack.sim.scene`), one control period at a time.

    A move or a homing takes the servos' target to a width at the commanded speed. A grasp
    closes the target toward zero width at its speed; once the fingers lag it by `CONTACT`
    they have met an object, and from then on the target goes (at the Hand's top speed) to
    ``2 force / GRIPPER_KP`` m inside the measured width, so that each finger servo pushes on
    the object with ``force`` N, held while the object gives; on nothing the fingers close to
    zero width. A command has finished when the target has reached its aim and the fingers
    have stood still for `SETTLED_S`. The grasp succeeds, and the Hand reports the object grasped
    for as long as it stays so, when the width the fingers stop at is within
    [width - epsilon_inner, width + epsilon_outer].

    Attributes:
        target: the servos' target width now, m.  width_max: fully open, m.
    """

    def __init__(self, *, width_max: float, width: float):
        self.width_max, self.target = width_max, width
        self._goal, self._speed, self._force = width, GRIPPER_SPEED, 0.0
        self._contact, self._reached = False, True
        self._accept: tuple[float, float] | None = None  # the running grasp's width range, m
        self._holding = False  # a grasp succeeded and has not been let go
        self._last_width, self._still_since = width, 0.0

    def move(self, width: float, speed: float) -> None:
        """Go to ``width`` m at ``speed`` m/s (of the width), no force held."""
        self._goal, self._speed = min(max(width, 0.0), self.width_max), min(speed, GRIPPER_SPEED)
        self._force, self._accept, self._holding = 0.0, None, False
        self._contact = self._reached = False

    def grasp(
        self, width: float, speed: float, force: float, epsilon_inner: float, epsilon_outer: float
    ) -> None:
        """Close at ``speed`` m/s, squeeze what the fingers meet with ``force`` N; the grasp
        expects an object ``width`` m wide, -``epsilon_inner`` / +``epsilon_outer`` m."""
        self.move(0.0, speed)
        self._force = max(force, 0.0)
        self._accept = (width - epsilon_inner, width + epsilon_outer)

    def halt(self, width: float) -> None:
        """Stop where the fingers are (``width`` m), letting go of any grasp."""
        self.move(width, GRIPPER_SPEED)

    def step(self, width: float, t: float, dt: float) -> float:
        """One period of ``dt`` s at controller time ``t`` s with the fingers at ``width`` m;
        returns the servos' new target width, m."""
        if abs(width - self._last_width) > STILL:
            self._still_since = t
        self._last_width = width
        self._contact = self._contact or (self._force > 0.0 and width - self.target > CONTACT)
        if self._contact:  # the target trails the fingers: the force held
            aim, most = width - 2.0 * self._force / GRIPPER_KP, GRIPPER_SPEED * dt
        else:
            aim, most = self._goal, self._speed * dt
        self.target += min(max(aim - self.target, -most), most)
        self._reached = abs(aim - self.target) < STILL
        return self.target

    def settled(self, t: float, since: float) -> bool:
        """The target has reached its aim and the fingers have stood still for `SETTLED_S` at
        controller time ``t`` s, the command given at ``since`` s having run that long."""
        return self._reached and t - self._still_since >= SETTLED_S and t - since >= SETTLED_S

    def arrived(self, width: float) -> bool:
        """A move or homing ended at its goal (within `TOLERANCE`)."""
        return abs(width - self._goal) < TOLERANCE

    def gripped(self, width: float) -> bool:
        """A grasp ended with the fingers stopped at ``width`` m: whether it succeeded (from
        then on the object counts as grasped while the width stays in its range)."""
        self._holding = self._accept is not None and self._inside(width)
        return self._holding

    def grasped(self, width: float) -> bool:
        """The Hand's ``is_grasped`` with the fingers at ``width`` m."""
        return self._holding and self._inside(width)

    def _inside(self, width: float) -> bool:
        low, high = self._accept
        return low <= width <= high


class VirtualHand:
    """The Hand's side (thread-safe under the controller's lock).

    Args:
        width_max: fully open width, m.
        width: the current width, m.
        period: the controller's control period, s.
    """

    def __init__(self, *, width_max: float, width: float, period: float):
        self.width_max, self.width, self.period = width_max, width, period
        self.fingers = Fingers(width_max=width_max, width=width)
        self._clients: list[FramedClient] = []
        self._pending: tuple | None = None  # (client, command, id, check, started_s)
        self.t = 0.0  # controller time, s

    @property
    def target(self) -> float:
        """The finger servos' target width, m."""
        return self.fingers.target

    def serve(self, sock: socket.socket, lock: threading.Lock) -> None:
        """Handle one client connection (the listener's thread)."""
        client = FramedClient(sock, HEADER)
        try:
            while True:
                command, command_id, payload = client.receive()
                with lock:
                    self._command(client, command, command_id, payload)
        finally:
            with lock:
                if client in self._clients:
                    self._clients.remove(client)

    def tick(self, width: float, t: float, message_id: int, send: socket.socket) -> None:
        """One control period: the fingers measure ``width`` m at controller time ``t`` s."""
        self.t, self.width = t, width
        self.fingers.step(width, t, self.period)
        if self._pending is not None:
            client, command, command_id, check, started = self._pending
            if self.fingers.settled(t, started) or t - started > TIMEOUT_S:
                self._pending = None
                client.reply(
                    command, command_id, _status(SUCCESS if check(width) else UNSUCCESSFUL)
                )
        if message_id % STATE_EVERY == 0:
            grasped = self.fingers.grasped(width)
            state = STATE.pack(message_id, width, self.width_max, grasped, TEMPERATURE_C)
            for client in self._clients:
                with contextlib.suppress(OSError):
                    send.sendto(state, client.udp)

    def _command(self, client, command: int, command_id: int, payload: bytes) -> None:
        if command == CONNECT:
            _version, port = struct.unpack("<HH", payload[:4])
            client.udp = (client.sock.getpeername()[0], port)
            self._clients.append(client)
            client.reply(command, command_id, struct.pack("<HH", SUCCESS, VERSION))
            return
        if command == STOP:
            self.fingers.halt(self.width)
            self._abort()
            client.reply(command, command_id, _status(SUCCESS))
            return
        self._abort()
        fingers = self.fingers
        if command == HOMING:
            fingers.move(self.width_max, GRIPPER_SPEED)
            check = fingers.arrived
        elif command == MOVE:
            fingers.move(*struct.unpack("<dd", payload[:16]))
            check = fingers.arrived
        elif command == GRASP:
            width, inner, outer, speed, force = struct.unpack("<5d", payload[:40])
            fingers.grasp(width, speed, force, inner, outer)
            check = fingers.gripped
        else:
            client.reply(command, command_id, _status(UNSUCCESSFUL))
            return
        self._pending = (client, command, command_id, check, self.t)

    def _abort(self) -> None:
        if self._pending is not None:
            client, command, command_id, _check, _started = self._pending
            self._pending = None
            client.reply(command, command_id, _status(ABORTED))


def _status(status: int) -> bytes:
    return struct.pack("<H", status)
