"""Cameras of a virtual controller's MuJoCo scene: `CameraServer` renders them in the
controller's process and serves their frames on `CAMERA_PORT`; `VirtualCamera` reads one, as
a camera device does a real camera.

The protocol, on TCP ``address``:`CAMERA_PORT` (loopback only, as every virtual port): the
client sends one line, the camera's name; the server answers one JSON line,
``{"camera", "width", "height", "fps", "K"}`` (K: the pinhole model's (3, 3) intrinsics,
`robostack.sim.cameras.Camera.intrinsics`), or ``{"error": ...}`` and closes. Then every frame
it renders follows as a 4-byte big-endian length and an `lcmtypes.image_t` (raw ``rgb8``: a
local socket needs no compression), its ``utime`` the capture time on ``time.monotonic()``'s
clock in microseconds (one clock for every process of the machine). Frames queue in the
socket as in a camera driver's buffers: a reader that keeps only the newest reads them all; one
that takes none for `SEND_TIMEOUT_S` is dropped.

Rendering never stalls the controller's clock: every 1 / ``fps`` s the server copies the
scene's state under the controller's lock (microseconds) and renders the copy outside it, in
a thread of its own (EGL contexts belong to the thread that made them).
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time

import mujoco
import numpy as np

from robostack.core.errors import RobostackError
from robostack.hardware.cameras import CameraDevice, Frame
from robostack.hardware.rehearsal.virtual.arm import VirtualArm
from robostack.hardware.rehearsal.virtual.server import Listener, read_exactly, read_lines
from robostack.sim.mujoco.camera import MujocoCameras
from robostack.transport import lcmtypes
from robostack.transport.codec import MessageError, decode
from robostack.transport.images import decode_frame, encode_frame

CAMERA_PORT = 29991  # beside the simulation port (29990); no vendor uses it
LENGTH = struct.Struct(">I")
MAX_FRAME_BYTES = 4096 * 4096 * 3 + 4096  # an image_t of the largest frame
READY_S = 10.0  # s a client waits for the server's answer
SEND_TIMEOUT_S = 1.0  # a client that takes no frame for this long is dropped


class CameraServer:
    """Renders ``arm``'s scene cameras (its `SceneConfig` ``cameras``) at ``fps`` Hz and
    serves them (module doc); ``lock`` guards the arm (the controller's). `start` opens the
    port (`OSError` when it is taken), `close` ends it all."""

    def __init__(self, arm: VirtualArm, lock: threading.Lock, *, fps: float = 10.0):
        self.arm, self.lock, self.fps = arm, lock, fps
        self.cameras = {c.name: c for c in arm.sim.scene_config.cameras}
        if not self.cameras or not fps > 0:
            raise RobostackError("a camera server needs the scene's cameras and fps > 0")
        self.frames = 0  # rendered per camera so far
        self._subscribers: dict[str, list[socket.socket]] = {name: [] for name in self.cameras}
        self._lock = threading.Lock()  # guards the subscribers
        self._closed = threading.Event()
        self._listener: Listener | None = None
        self._thread: threading.Thread | None = None

    def start(self, address: str) -> CameraServer:
        self._listener = Listener(address, CAMERA_PORT, self._serve)
        self._thread = threading.Thread(target=self._run, name="cameras", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join()
        if self._listener is not None:
            self._listener.close()

    def _serve(self, sock: socket.socket) -> None:
        """One client: its camera's name in, the answer out, then frames (from `_run`) until
        it goes."""
        name = next(read_lines(sock), "").strip()
        camera = self.cameras.get(name)
        if camera is None:
            known = ", ".join(self.cameras)
            sock.sendall(
                (json.dumps({"error": f"no camera {name!r}; known: {known}"}) + "\n").encode()
            )
            return
        answer = {"camera": name, "width": camera.width, "height": camera.height}
        answer |= {"fps": self.fps, "K": camera.intrinsics().tolist()}
        sock.sendall((json.dumps(answer) + "\n").encode())
        sock.settimeout(SEND_TIMEOUT_S)
        with self._lock:
            self._subscribers[name].append(sock)
        while True:  # until the client closes; frames go out from `_run`
            with contextlib.suppress(TimeoutError):
                if not sock.recv(1):
                    return

    def _run(self) -> None:
        model = self.arm.sim.model
        view = mujoco.MjData(model)
        renderers = MujocoCameras(model, tuple(self.cameras.values()))
        try:
            for name in self.cameras:  # the first frame makes the renderers (slow: GL set-up)
                renderers.render(view, name)
            next_t = time.monotonic()
            while not self._closed.wait(max(0.0, next_t - time.monotonic())):
                # behind (a loaded machine): the next frame a period from now, no burst
                next_t = max(next_t + 1.0 / self.fps, time.monotonic())
                self._render(view, renderers)
        finally:
            renderers.close()

    def _render(self, view: mujoco.MjData, renderers: MujocoCameras) -> None:
        """Copy the arm's scene into ``view`` under the controller's lock, render every
        camera of it outside, send the frames."""
        data = self.arm.sim.data
        with self.lock:
            taken = time.monotonic()
            view.qpos[:], view.qvel[:] = data.qpos, data.qvel
            view.mocap_pos[:], view.mocap_quat[:] = data.mocap_pos, data.mocap_quat
        mujoco.mj_forward(self.arm.sim.model, view)
        for name in self.cameras:
            image = renderers.render(view, name)
            frame = encode_frame(name, image, utime=round(taken * 1e6), encoding="rgb8")
            self._send(name, frame.encode())
        self.frames += 1

    def _send(self, name: str, data: bytes) -> None:
        with self._lock:
            subscribers = list(self._subscribers[name])
        for sock in subscribers:
            try:
                sock.sendall(LENGTH.pack(len(data)) + data)
            except OSError:
                with self._lock:
                    self._subscribers[name].remove(sock)


class VirtualCamera(CameraDevice):
    """Camera ``camera`` of the virtual controller at ``address`` (its `CameraServer`), read
    as a camera device: `open`, `read` the frames one after the other, `close` (or a context
    manager). ``name`` says which it is, for messages."""

    def __init__(self, address: str, camera: str):
        self.address, self.camera = address, camera
        self.name = f"virtual camera {camera!r} at {address}"
        self.width = self.height = 0
        self.fps = 0.0
        self._K: np.ndarray | None = None
        self._sock: socket.socket | None = None
        self._index = 0

    def open(self) -> None:
        """Connect and subscribe; `RobostackError` naming the camera when it cannot."""
        try:
            self._sock = socket.create_connection((self.address, CAMERA_PORT), timeout=READY_S)
            self._sock.sendall(self.camera.encode() + b"\n")
            answer = json.loads(self._answer_line())
        except (OSError, ValueError) as error:
            self.close()
            raise RobostackError(f"{self.name}: cannot open it ({error})") from None
        if "error" in answer:
            self.close()
            raise RobostackError(f"{self.name}: {answer['error']}")
        self.width, self.height, self.fps = answer["width"], answer["height"], answer["fps"]
        self._K = np.asarray(answer["K"], float)
        self._sock.settimeout(max(READY_S, 10.0 / self.fps))

    def read(self) -> Frame:
        """The next frame (blocking); `RobostackError` when the stream fails."""
        if self._sock is None:
            raise RobostackError(f"{self.name}: read before open")
        try:
            (size,) = LENGTH.unpack(read_exactly(self._sock, LENGTH.size))
            if size > MAX_FRAME_BYTES:
                raise MessageError("ipc_oversized", f"a frame of {size} bytes")
            msg = decode(
                lcmtypes.image_t, read_exactly(self._sock, size), max_bytes=MAX_FRAME_BYTES
            )
            image = decode_frame(msg)
        except (OSError, MessageError) as error:
            raise RobostackError(f"{self.name}: the stream failed ({error})") from None
        if msg.camera != self.camera or image.shape != (self.height, self.width, 3):
            raise RobostackError(f"{self.name}: sent a {msg.width} x {msg.height} {msg.camera!r}")
        self._index += 1
        return Frame(image=image, t=msg.utime / 1e6, index=self._index - 1)

    def close(self) -> None:
        """Stop streaming (safe to call twice)."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None

    def intrinsics(self) -> np.ndarray | None:
        """(3, 3) K of the scene's pinhole camera, pixels (None before `open`)."""
        return None if self._K is None else self._K.copy()

    def _answer_line(self) -> str:
        line = b""
        while not line.endswith(b"\n"):
            byte = self._sock.recv(1)
            if not byte:
                raise ConnectionError("the server closed the connection")
            line += byte
        return line.decode()
