"""OpenCV cameras: `cv2.VideoCapture` on a UVC webcam or video device, or on a video file played
through OpenCV's own decoder at the file's frame rate (a camera stand-in for rehearsals and
tests). Extra ``cameras-opencv`` (opencv-python-headless)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from robostack.core.errors import RobostackError
from robostack.hardware.cameras.base import CameraDevice, Frame
from robostack.hardware.vendor import import_vendor


class OpenCVCamera(CameraDevice):
    """A camera through `cv2.VideoCapture`.

    Args:
        device: a device index (int, or a string of digits), a device path (``/dev/video0``),
            or a video file. A file is paced: frame k is handed over k / (the file's fps) s
            after the first, as a camera would deliver it.
        width, height, fps: asked of a device (it may deliver otherwise: preflight checks);
            a file keeps its own (``fps`` paces a file that states none).
        loop: a file starts again at its end; else `read` returns None there.
    """

    def __init__(
        self, device: int | str, *, width: int, height: int, fps: float, loop: bool = True
    ):
        if isinstance(device, str) and device.isdigit():
            device = int(device)
        self.device, self.width, self.height, self.fps, self.loop = device, width, height, fps, loop
        self.file = isinstance(device, str) and Path(device).is_file()
        self.name = f"opencv {device}"
        self._capture = None
        self._index = 0
        self._period = 1.0 / fps
        self._start = 0.0

    def open(self) -> None:
        cv2 = import_vendor("cv2", extra="cameras-opencv")
        if isinstance(self.device, str) and not self.file and not Path(self.device).exists():
            raise RobostackError(f"{self.name}: no such device or video file")
        capture = cv2.VideoCapture(self.device)
        if not capture.isOpened():
            capture.release()
            raise RobostackError(f"{self.name}: OpenCV cannot open it")
        if self.file:
            file_fps = capture.get(cv2.CAP_PROP_FPS)
            self._period = 1.0 / (file_fps if file_fps > 0 else self.fps)
        else:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            capture.set(cv2.CAP_PROP_FPS, self.fps)
        self._capture, self._cv2 = capture, cv2
        self._index = 0

    def read(self) -> Frame | None:
        if self._capture is None:
            raise RobostackError(f"{self.name}: read before open")
        ok, bgr = self._capture.read()
        if not ok and self.file and self.loop and self._index > 0:
            self._capture.set(self._cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self._capture.read()
        if not ok:
            if self.file:
                return None
            raise RobostackError(f"{self.name}: the device delivered no frame")
        if self.file:  # hand the frame over when a camera running at the file's rate would
            if self._index == 0:
                self._start = time.monotonic()
            delay = self._start + self._index * self._period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        t = time.monotonic()
        image = np.ascontiguousarray(bgr[:, :, ::-1])  # OpenCV decodes to BGR
        frame = Frame(image=image, t=t, index=self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
