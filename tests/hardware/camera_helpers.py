"""Shared by the camera tests: a video file written here with OpenCV's own encoder (the camera
stand-in), a pixel checkpoint on disk, and a launch file's ``[cameras.<name>]`` table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robostack.policies.checkpoint import save_checkpoint
from tests.sessions.test_pixel_episodes import pixel_dit

RED = (200, 30, 30)  # RGB of every frame but its top-left marker block


def write_video(path: Path, *, frames: int, fps: float, width: int = 64, height: int = 48) -> Path:
    """A Motion-JPEG AVI of ``frames`` frames at ``fps``: red, its top-left 8 x 8 block grey
    at 8 x (the frame's number mod 32)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for i in range(frames):
        image = np.empty((height, width, 3), np.uint8)
        image[:] = RED[::-1]  # OpenCV writes BGR
        image[:8, :8] = 8 * (i % 32)
        writer.write(image)
    writer.release()
    return Path(path)


def marker(image: np.ndarray) -> int:
    """The frame number mod 32 that `write_video` marked ``image`` with."""
    return round(float(image[2:6, 2:6].mean()) / 8)


def pixel_checkpoint(
    directory: Path, *, tasks: tuple[str, ...], cameras: tuple[tuple[str, int, int], ...]
) -> Path:
    """An untrained Panda pixel DiT (`tests.sessions.test_pixel_episodes.pixel_dit`) saved
    as trained on ``tasks``, from ``cameras`` ((name, height, width), ...) and no object state.
    Its actions stay within 5 mm (mrad) of home: a rehearsal tests the cameras' path, not what
    an untrained policy's swings would trip on a real arm's monitor."""
    policy = pixel_dit(cameras, spread=0.005)
    data = {"robot": "panda", "tasks": {t: {"environment_dim": 0, "episodes": 1} for t in tasks}}
    return save_checkpoint(policy, directory, data=data)


def camera_table(
    name: str, device: str, *, fps: float, width: int = 64, height: int = 48, extra: str = ""
) -> str:
    """A ``[cameras.<name>]`` table: an OpenCV camera on ``device``, fixed in front of the
    robot looking at the table."""
    return (
        f'[cameras.{name}]\nbackend = "opencv"\ndevice = "{device}"\nwidth = {width}\n'
        f"height = {height}\nfps = {fps}\nposition = [1.25, 0.0, 0.75]\n"
        f"look_at = [0.45, 0.0, 0.1]\n{extra}"
    )
