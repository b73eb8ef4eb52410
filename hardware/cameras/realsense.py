"""Intel RealSense cameras over pyrealsense2: the colour stream as RGB8, and the intrinsics
the device reports. Extra ``cameras-realsense`` (pyrealsense2; it needs libusb-1.0)."""

from __future__ import annotations

import time

import numpy as np

from robostack.core.errors import RobostackError
from robostack.hardware.cameras.base import CameraDevice, Frame
from robostack.hardware.vendor import import_vendor

TIMEOUT_MS = 1000  # a frame later than this is a device failure


class RealSenseCamera(CameraDevice):
    """A RealSense's colour stream, ``width`` x ``height`` RGB8 at ``fps`` Hz, from the device
    with ``serial`` ("" : the one connected). The capture time is when the frame reached this
    process (the device's own clock is not the host's monotonic clock)."""

    def __init__(self, serial: str, *, width: int, height: int, fps: float):
        self.serial, self.width, self.height, self.fps = serial, width, height, fps
        self.name = f"realsense {serial or '(the one connected)'}"
        self._pipeline = None
        self._K: np.ndarray | None = None
        self._index = 0

    def open(self) -> None:
        rs = import_vendor("pyrealsense2", extra="cameras-realsense")
        pipeline, config = rs.pipeline(), rs.config()
        if self.serial:
            config.enable_device(self.serial)
        config.enable_stream(
            rs.stream.color, self.width, self.height, rs.format.rgb8, round(self.fps)
        )
        try:
            profile = pipeline.start(config)
        except RuntimeError as error:
            raise RobostackError(f"{self.name}: {error}") from None
        stream = profile.get_stream(rs.stream.color).as_video_stream_profile()
        k = stream.get_intrinsics()
        self._K = np.array([[k.fx, 0.0, k.ppx], [0.0, k.fy, k.ppy], [0.0, 0.0, 1.0]])
        self._pipeline, self._index = pipeline, 0

    def read(self) -> Frame | None:
        if self._pipeline is None:
            raise RobostackError(f"{self.name}: read before open")
        try:
            frames = self._pipeline.wait_for_frames(TIMEOUT_MS)
        except RuntimeError as error:
            raise RobostackError(f"{self.name}: {error}") from None
        t = time.monotonic()
        image = np.asanyarray(frames.get_color_frame().get_data()).copy()
        frame = Frame(image=image, t=t, index=self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        if self._pipeline is not None:
            self._pipeline.stop()
            self._pipeline = None

    def intrinsics(self) -> np.ndarray | None:
        return self._K
