"""`VirtualHand`: the Franka Hand's network protocol (gripper interface version 3) on the
virtual Franka's simulated fingers.

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

HEADER = struct.Struct("<HII")
STATE = struct.Struct("<Idd?H")
PORT, VERSION = 1338, 3
CONNECT, HOMING, GRASP, MOVE, STOP = 0, 1, 2, 3, 4
SUCCESS, UNSUCCESSFUL, ABORTED = 0, 2, 3
STATE_EVERY = 10  # control periods between states (100 Hz on the 1 kHz clock)
SETTLED_S, TIMEOUT_S = 0.05, 5.0  # a finger motion ends when the width holds this long
TOLERANCE = 0.002  # m: a move has arrived within this
TEMPERATURE_C = 30


class VirtualHand:
    """The Hand's side (thread-safe under the controller's lock).

    Args:
        width_max: fully open width, m.
        width: the current width, m.
    """

    def __init__(self, *, width_max: float, width: float):
        self.width_max, self.width, self.target = width_max, width, width
        self.grasped = False
        self._clients: list[FramedClient] = []
        self._pending: tuple | None = None  # (client, command, id, check, started_s)
        self.t = 0.0  # controller time, s
        self._still_since = 0.0
        self._last_width = width

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
        self.t = t
        if abs(width - self._last_width) > 1e-5:
            self._still_since = t
        self.width, self._last_width = width, width
        if self._pending is not None:
            client, command, command_id, check, started = self._pending
            settled = t - self._still_since >= SETTLED_S and t - started >= SETTLED_S
            if settled or t - started > TIMEOUT_S:
                self._pending = None
                client.reply(
                    command, command_id, _status(SUCCESS if check(width) else UNSUCCESSFUL)
                )
        if message_id % STATE_EVERY == 0:
            state = STATE.pack(message_id, width, self.width_max, self.grasped, TEMPERATURE_C)
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
            self.target = self.width
            self._abort()
            client.reply(command, command_id, _status(SUCCESS))
            return
        self._abort()
        if command == HOMING:
            self.target, self.grasped = self.width_max, False
            check = lambda w: abs(w - self.width_max) < TOLERANCE  # noqa: E731
        elif command == MOVE:
            width, _speed = struct.unpack("<dd", payload[:16])
            self.target, self.grasped = min(max(width, 0.0), self.width_max), False
            check = lambda w: abs(w - self.target) < TOLERANCE  # noqa: E731
        elif command == GRASP:
            width, inner, outer, _speed, _force = struct.unpack("<5d", payload[:40])
            self.target = 0.0  # close until the object stops the fingers

            def check(w: float) -> bool:
                self.grasped = width - inner <= w <= width + outer
                return self.grasped

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
