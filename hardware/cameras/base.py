"""What every camera backend offers (`CameraDevice`), its frames (`Frame`), and `open_camera`,
which builds one by backend name."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

CAMERA_BACKENDS = ("opencv", "realsense")


@dataclass(frozen=True)
class Frame:
    """One camera frame.

    Attributes:
        image: (H, W, 3) uint8 RGB, row 0 at the top.
        t: capture time on ``time.monotonic()``'s clock, s.
        index: the frame's number since the camera opened (0 first).
    """

    image: np.ndarray
    t: float
    index: int

    @property
    def size(self) -> tuple[int, int]:
        """(height, width), pixels."""
        return self.image.shape[0], self.image.shape[1]


class CameraDevice(abc.ABC):
    """A camera: `open`, then `read` frames one after the other, then `close` (or use it as a
    context manager). ``name`` says which device it is, for messages. `read` blocks until the
    next frame; it raises `robostack.core.errors.RobostackError` when the device fails and
    returns None when a video file has ended."""

    name: str

    @abc.abstractmethod
    def open(self) -> None:
        """Connect and start streaming; `RobostackError` naming the device when it cannot."""

    @abc.abstractmethod
    def read(self) -> Frame | None:
        """The next frame (blocking), or None at the end of a video file."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop streaming and release the device (safe to call twice)."""

    def intrinsics(self) -> np.ndarray | None:
        """(3, 3) K as the device reports it (pixels), or None when it reports none."""
        return None

    def __enter__(self) -> CameraDevice:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_camera(
    backend: str, *, device: int | str, width: int, height: int, fps: float, loop: bool = True
) -> CameraDevice:
    """An unopened camera of ``backend`` (`CAMERA_BACKENDS`). ``device``: for ``opencv`` a
    device index (int), a device path or a video file; for ``realsense`` a serial number (""
    for the one connected). ``width`` x ``height`` pixels at ``fps`` Hz are asked of a device
    (a video file keeps its own). ``loop``: a video file starts again at its end."""
    if backend == "opencv":
        from robostack.hardware.cameras.opencv import OpenCVCamera

        return OpenCVCamera(device, width=width, height=height, fps=fps, loop=loop)
    if backend == "realsense":
        from robostack.hardware.cameras.realsense import RealSenseCamera

        return RealSenseCamera(str(device), width=width, height=height, fps=fps)
    raise ValueError(f"camera backend must be one of {', '.join(CAMERA_BACKENDS)}, got {backend!r}")
