"""`FrameReader`: a thread that reads a camera as fast as it delivers and keeps its newest frame,
so that whoever observes (the policy at 10 Hz) takes the latest one without waiting."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from robostack.core.errors import RobostackError
from robostack.hardware.cameras.base import CameraDevice, Frame

HISTORY = 256  # capture times kept for the rate (8 s at 30 Hz)
JOIN_TIMEOUT_S = 2.0  # a read blocks at most about this long (the RealSense's timeout and more)


class FrameReader:
    """Reads ``device`` in a thread of its own (`start` opens it, `close` stops and releases it;
    or use it as a context manager). `newest` is the last frame read; `capture_times` the
    capture times of the last `HISTORY` ones. A device that fails ends the thread: its error is
    kept in ``error`` and frames stop coming (their age tells the reader's user)."""

    def __init__(self, device: CameraDevice):
        self.device = device
        self.error: BaseException | None = None
        self.ended = False  # a video file without loop has ended, or the device failed
        self._newest: Frame | None = None
        self._times: deque[float] = deque(maxlen=HISTORY)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self.device.name

    def start(self) -> FrameReader:
        """Open the device (its errors raise here) and start reading."""
        self.device.open()
        self._thread = threading.Thread(target=self._run, name=f"camera {self.name}", daemon=True)
        self._thread.start()
        return self

    def newest(self) -> Frame | None:
        """The newest frame read, or None before the first."""
        with self._lock:
            return self._newest

    def wait_first(self, timeout_s: float) -> Frame:
        """The newest frame, waiting up to ``timeout_s`` for the first; `RobostackError` when
        none came (the device's error, if it failed)."""
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while self._newest is None and not self.ended:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            if self._newest is not None:
                return self._newest
        reason = f"it failed: {self.error}" if self.error is not None else f"in {timeout_s:g} s"
        raise RobostackError(f"camera {self.name}: no frame ({reason})")

    def capture_times(self) -> np.ndarray:
        """(N,) capture times of the last frames read (at most `HISTORY`), oldest first, s."""
        with self._lock:
            return np.array(self._times)

    def close(self) -> None:
        """Stop reading and release the device."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(JOIN_TIMEOUT_S)
        self.device.close()

    def __enter__(self) -> FrameReader:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self.device.read()
                if frame is None:
                    break
                with self._arrived:
                    self._newest = frame
                    self._times.append(frame.t)
                    self._arrived.notify_all()
        except Exception as error:  # a failing device ends the stream; the frames' age tells
            self.error = error
        with self._arrived:
            self.ended = True
            self._arrived.notify_all()
