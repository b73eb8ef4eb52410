"""Camera frames rendered off the control tick, for real-time sessions.

A real-time control tick must not wait for a render: several ms a camera in software EGL, and
MuJoCo's render calls hold Python's GIL for all of that time, so a render thread in the loop's
process would stall the loop's thread just the same. The tick takes a snapshot of the
simulation instead (`SnapshotScene.snapshot`: copies of a few arrays, microseconds) and a
`RenderWorker` renders it in a process of its own: the renderer is made there
(`SnapshotScene.snapshot_renderer` gives a picklable recipe), with its own copy of the model,
its own simulation data and GL contexts. Snapshots are rendered in the order they are
submitted; each result is a `concurrent.futures.Future` the tick polls without waiting.

`FrameSource` is what a chunk source is given for a scene's cameras: a render now (lockstep
sessions, simulated time) and a render of a snapshot now, later (real time).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Protocol

import numpy as np

from robostack.core.errors import RobostackError

Frames = dict[str, np.ndarray]  # {camera: (H, W, 3) uint8}
START_TIMEOUT_S = 120.0  # to import, unpickle the scene and make the GL contexts (loaded box)
CLOSE_TIMEOUT_S = 5.0  # a render process not gone by then is killed


class SnapshotRenderer(Protocol):
    """Renders snapshots of one scene (in the render process)."""

    def __call__(self, snapshot: np.ndarray) -> Frames:
        """Every camera's frame of ``snapshot`` (`SnapshotScene.snapshot`'s array)."""
        ...

    def close(self) -> None:
        """Free its GL contexts."""
        ...


class SnapshotScene(Protocol):
    """A simulation whose cameras render from snapshots (`robostack.sim.mujoco.MujocoRobot`)."""

    def snapshot(self) -> np.ndarray:
        """The scene now as one flat float64 array, cheap enough for a 1 kHz tick (a copy)."""
        ...

    def snapshot_renderer(self) -> Callable[[], SnapshotRenderer]:
        """A picklable recipe that makes a renderer of `snapshot` s (in another process)."""
        ...


class FrameSource(Protocol):
    """A scene's cameras for a chunk source."""

    snapshots: bool  # whether `request` is offered

    def __call__(self) -> Frames:
        """Every camera's frame now, rendered on the caller's thread."""
        ...

    def request(self) -> Future[Frames]:
        """Every camera's frame now, rendered later by a render process: the caller only
        takes the snapshot."""
        ...


class RenderWorker:
    """Renders ``scene``'s snapshots in a process of its own (module doc): ``python -m
    robostack.sim.frames``, which imports only the renderer's modules (not the caller's main
    module, as multiprocessing's spawn would), its pipes inherited by descriptor. Built once the
    process has made its renderer (imports and GL contexts take a second or more: before the
    loop, not in the first observation's wait); `close` (or the context manager) ends it, and it
    ends by itself when this process goes (its request pipe closes). A receiver thread hands
    each result to its future (waiting on the pipe without the GIL)."""

    def __init__(self, scene: SnapshotScene):
        requests_in, requests_out = os.pipe()
        results_in, results_out = os.pipe()
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(requests_in), str(results_out)],
            pass_fds=(requests_in, results_out),
        )
        os.close(requests_in)
        os.close(results_out)
        self._requests = Connection(requests_out, readable=False)
        self._results = Connection(results_in, writable=False)
        self._futures: deque[Future] = deque()  # appended before each send: no lock needed
        try:
            self._requests.send(scene.snapshot_renderer())
            ready = self._results.poll(START_TIMEOUT_S)
            kind, detail = self._results.recv() if ready else ("error", "no answer")
        except (EOFError, OSError) as error:
            kind, detail = "error", f"it ended ({error or 'EOF'})"
        if kind != "ready":
            self.close()
            raise RobostackError(f"the render process could not start: {detail}")
        self._receiver = threading.Thread(target=self._receive, name="render-results", daemon=True)
        self._receiver.start()

    def submit(self, snapshot: np.ndarray) -> Future[Frames]:
        """``snapshot``'s frames, to come (its bytes are written to a pipe: no pickling)."""
        future: Future[Frames] = Future()
        self._futures.append(future)
        self._requests.send_bytes(np.ascontiguousarray(snapshot, np.float64))
        return future

    def _receive(self) -> None:
        while True:
            try:
                kind, payload = self._results.recv()
            except (EOFError, OSError):
                break
            future = self._futures.popleft()
            if kind == "frames":
                future.set_result(payload)
            else:
                future.set_exception(RobostackError(f"rendering failed: {payload}"))
        while self._futures:
            self._futures.popleft().set_exception(RobostackError("the render process ended"))

    def close(self) -> None:
        """End the render process (killed if it does not end within `CLOSE_TIMEOUT_S`)."""
        with contextlib.suppress(OSError):
            self._requests.send_bytes(b"")  # the end
        self._requests.close()
        try:
            self._process.wait(CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if hasattr(self, "_receiver"):
            self._receiver.join(CLOSE_TIMEOUT_S)
        self._results.close()

    def __enter__(self) -> RenderWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _serve(requests: Connection, results: Connection) -> None:
    """The render process: make the renderer from the first message's recipe, then render
    each snapshot (raw float64 bytes) until an empty message comes or the pipe closes."""
    try:
        renderer = requests.recv()()
    except EOFError:
        return
    except Exception as error:
        results.send(("error", f"{type(error).__name__}: {error}"))
        return
    results.send(("ready", None))
    try:
        while snapshot := requests.recv_bytes():
            try:
                results.send(("frames", renderer(np.frombuffer(snapshot, np.float64))))
            except Exception as error:
                results.send(("error", f"{type(error).__name__}: {error}"))
    except EOFError:
        pass
    finally:
        renderer.close()


if __name__ == "__main__":
    _serve(
        Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False)
    )
