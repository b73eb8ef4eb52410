"""What the virtual controllers share: TCP listeners with a thread per client, and the
simulation port through which a test or an operator injects faults.

They serve only on loopback addresses (`require_loopback`): the simulation port takes faults
from anyone who connects, with no authentication. Each listener serves at most `MAX_CLIENTS`
clients at once and closes the connections beyond.

The simulation port (`SIM_PORT`, not a vendor port) speaks lines: ``inject FAULT [DELAY_S]``
schedules one of `robostack.hardware.rehearsal.virtual.arm.FAULTS` DELAY_S s of controller time from
now (answer:
``ok AT``, the controller time it is due at),
``clear FAULT`` removes it, ``status`` answers one JSON line (controller time, joint positions,
the faults scheduled). Every answer is one line; errors start with ``error:``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import struct
import threading
from collections.abc import Callable

from robostack.core.errors import RobostackError
from robostack.hardware.rehearsal.virtual.arm import VirtualArm

SIM_PORT = 29990
CAMERA_FPS = 10.0  # frames per second of a scene's cameras: the policy rate
MAX_CLIENTS = 8  # per listener: a vendor client opens one or two connections per service


def require_loopback(address: str) -> None:
    """Raise `RobostackError` unless every address ``address`` names is a loopback one
    (127.0.0.0/8, ::1; a host name is resolved)."""
    try:
        found = {info[4][0] for info in socket.getaddrinfo(address, None)}
    except (OSError, UnicodeError) as error:
        raise RobostackError(f"cannot resolve {address!r}: {error}") from None
    if not found or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in found):
        raise RobostackError(
            f"a virtual controller serves only on a loopback address (127.0.0.0/8 or ::1), "
            f"not {address!r} ({', '.join(sorted(found))}): its fault-injection port has no "
            f"authentication"
        )


class Listener:
    """Accepts TCP clients on ``address``:``port`` and runs ``handle(sock)`` for each in its own
    daemon thread until `close`; a client refused (``accepting`` False, or ``max_clients``
    connected already) is closed at once."""

    def __init__(
        self,
        address: str,
        port: int,
        handle: Callable[[socket.socket], None],
        *,
        max_clients: int = MAX_CLIENTS,
    ):
        self.address, self.port, self.handle = address, port, handle
        self.max_clients = max_clients
        self.accepting = True
        self._server = socket.create_server((address, port))
        self._server.settimeout(0.1)
        self._clients: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"listen-{port}", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                sock, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                full = len(self._clients) >= self.max_clients
                if self.accepting and not full:
                    self._clients.add(sock)
            if not self.accepting or full:
                sock.close()
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            self.handle(sock)
        except (ConnectionError, OSError, ValueError):
            pass
        finally:
            with self._lock:
                self._clients.discard(sock)
            sock.close()

    def drop_clients(self) -> None:
        """Close every client connection (a network cable pulled)."""
        with self._lock:
            clients = list(self._clients)
        for sock in clients:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed.set()
        self._thread.join()
        self._server.close()
        self.drop_clients()


def read_exactly(sock: socket.socket, n: int) -> bytes:
    """The next ``n`` bytes ``sock`` receives; raises `ConnectionError` when the peer closes."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the client closed the connection")
        data += chunk
    return data


class FramedClient:
    """One connection of a framed TCP protocol (FCI, the Franka Hand): each message is a
    ``header`` of (command, command id, total size) then its payload; replies echo the
    request's command and id and may be sent from any thread.

    Attributes:
        udp: (host, port) where the client takes its UDP states, once it has said.
    """

    def __init__(self, sock: socket.socket, header: struct.Struct):
        self.sock, self.header = sock, header
        self.udp: tuple[str, int] | None = None
        self._send_lock = threading.Lock()

    def receive(self) -> tuple[int, int, bytes]:
        """The next request's command, command id and payload."""
        command, command_id, size = self.header.unpack(read_exactly(self.sock, self.header.size))
        if size < self.header.size:
            raise ValueError(f"message size {size} is below the {self.header.size}-byte header")
        return command, command_id, read_exactly(self.sock, size - self.header.size)

    def reply(self, command: int, command_id: int, payload: bytes) -> None:
        message = self.header.pack(command, command_id, self.header.size + len(payload))
        with self._send_lock, contextlib.suppress(OSError):
            self.sock.sendall(message + payload)


def read_lines(sock: socket.socket):
    """The lines ``sock`` receives (without their ending), until the peer closes."""
    buffer = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            yield line.rstrip(b"\r").decode("utf-8", "replace")


def simulation_port(arm: VirtualArm, lock: threading.Lock) -> Callable[[socket.socket], None]:
    """The handler of the simulation port of ``arm`` (module doc); ``lock`` guards the arm."""

    def handle(sock: socket.socket) -> None:
        for line in read_lines(sock):
            sock.sendall((_answer(arm, lock, line.split()) + "\n").encode())

    return handle


def _answer(arm: VirtualArm, lock: threading.Lock, words: list[str]) -> str:
    try:
        with lock:
            if words[:1] == ["inject"] and len(words) in (2, 3):
                delay = float(words[2]) if len(words) == 3 else 0.0
                arm.inject(words[1], at=arm.t + delay)
                return f"ok {arm.t + delay}"
            if words[:1] == ["clear"] and len(words) == 2:
                arm.clear(words[1])
                return "ok"
            if words == ["status"]:
                q = arm.state().q
                return json.dumps({"t": arm.t, "q": q.tolist(), "faults": arm.faults()})
    except ValueError as error:
        return f"error: {error}"
    return f"error: unknown request {' '.join(words)!r}; known: inject, clear, status"


def request(address: str, line: str, *, port: int = SIM_PORT, timeout: float = 5.0) -> str:
    """Send one line to a virtual controller's simulation port; its one-line answer."""
    with socket.create_connection((address, port), timeout=timeout) as sock:
        sock.sendall(line.encode() + b"\n")
        return next(read_lines(sock))


class VirtualController:
    """The lifetime both virtual controllers share (keyword-only; a context manager, or
    `start` / `close`): listeners on the subclass's `services` and the simulation port, and a
    clock thread that, once per control period in wall time, runs `tick` under `lock`, then
    `after_tick` outside it. When the arm's scene has cameras, a
    `robostack.hardware.rehearsal.virtual.camera.CameraServer` serves their frames at
    `CAMERA_FPS`.

    Args:
        address: the loopback address to listen on (`require_loopback`).
        arm: the simulated arm (its period paces the clock).
    """

    def __init__(self, *, address: str, arm: VirtualArm):
        require_loopback(address)
        self.address, self.arm = address, arm
        self.lock = threading.Lock()  # guards the arm and the subclass's state
        self.ticks = 0
        self.network_cut = False
        self._listeners: list[Listener] = []
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._cameras = None  # the CameraServer, with cameras in the scene

    def services(self) -> dict[int, Callable[[socket.socket], None]]:
        """The vendor's TCP services: port -> connection handler (may open other sockets)."""
        raise NotImplementedError

    def tick(self) -> None:
        """One control period (under `lock`)."""
        raise NotImplementedError

    def after_tick(self) -> None:
        """What follows a period outside the lock (sending, which may block)."""

    def start(self):
        """Open the ports (raises `OSError` when one is taken) and start the clock."""
        try:
            services = {**self.services(), SIM_PORT: simulation_port(self.arm, self.lock)}
            for port, handle in services.items():
                self._listeners.append(Listener(self.address, port, handle))
            if self.arm.sim.scene_config.cameras:
                from robostack.hardware.rehearsal.virtual.camera import CameraServer

                self._cameras = CameraServer(self.arm, self.lock, fps=CAMERA_FPS)
                self._cameras.start(self.address)
        except OSError:
            self.close()
            raise
        name = f"{type(self).__name__}-clock"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join()
        for listener in self._listeners:
            listener.close()
        self._listeners.clear()
        if self._cameras is not None:
            self._cameras.close()
            self._cameras = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def cut_network(self) -> None:
        """The network is gone (a pulled cable): every client connection drops, no new one is
        accepted; only the simulation port still answers."""
        self.network_cut = True
        for listener in self._listeners:
            if listener.port != SIM_PORT:
                listener.accepting = False
                listener.drop_clients()

    def _run(self) -> None:
        while not self._closed.is_set():
            self.arm.wait()
            with self.lock:
                self.tick()
            self.after_tick()
            self.ticks += 1
