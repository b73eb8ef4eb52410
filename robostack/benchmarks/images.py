"""``robostack bench images``: camera frames in LCM messages, raw against JPEG.

The front and wrist cameras of a task's MuJoCo scene are rendered at each size, at several
moments of its scripted expert's episode (so the arm and the objects move through the frames).
Each frame is sent as `robostack.transport.images` would: raw RGB and JPEG at each quality. Per
size and encoding: bytes per frame (and bytes/s per camera at the policy rate), encode + decode
time (median, ms) through the message's own encode and checked decode, and the pixel error of
the decoded frame against the rendered one (mean absolute error in levels of 255, and PSNR, dB).
"""

from __future__ import annotations

import time

import numpy as np

from robostack.sessions.episodes import FPS, EpisodeSpec, run_episode
from robostack.sim.cameras import CAMERAS
from robostack.transport import lcmtypes
from robostack.transport.images import decode_frame, encode_frame

QUALITIES = (50, 75, 90, 95)


def bench_images(
    *, task: str = "push", sizes: tuple[int, ...] = (96, 224), frames: int = 10
) -> list[dict]:
    """Rows {width, height, encoding, quality, bytes, bytes_per_s, encode_decode_ms,
    mean_abs_error, psnr_db}: ``frames`` frames of each of the front and wrist cameras of
    ``task``'s scene per size (module doc)."""
    rows = []
    for size in sizes:
        images = _frames(task, size, frames)
        for encoding, quality in [("rgb8", 0), *(("jpeg", q) for q in QUALITIES)]:
            sizes_b, times_ms, errors, psnrs = [], [], [], []
            for image in images:
                began = time.perf_counter()
                msg = encode_frame(
                    "front", image, utime=0, encoding=encoding, quality=quality or 90
                )
                back = decode_frame(lcmtypes.image_t.decode(msg.encode()))
                times_ms.append((time.perf_counter() - began) * 1e3)
                sizes_b.append(msg.size)
                error = back.astype(float) - image
                errors.append(np.abs(error).mean())
                mse = np.mean(error**2)
                psnrs.append(10 * np.log10(255**2 / mse) if mse else np.inf)
            rows.append(
                {
                    "width": size,
                    "height": size,
                    "encoding": encoding,
                    "quality": quality or None,
                    "bytes": float(np.mean(sizes_b)),
                    "bytes_per_s": float(np.mean(sizes_b)) * FPS,
                    "encode_decode_ms": float(np.median(times_ms)),
                    "mean_abs_error": float(np.mean(errors)),
                    "psnr_db": float(np.median(psnrs)),
                }
            )
    return rows


def _frames(task: str, size: int, count: int) -> list[np.ndarray]:
    """``count`` frames of each of the front and wrist cameras at ``size`` x ``size`` through
    an expert episode of ``task`` (seed 0), (size, size, 3) uint8 each."""
    cameras = (CAMERAS["front"].resized(size, size), CAMERAS["wrist"].resized(size, size))
    episode = run_episode(EpisodeSpec(task=task, seed=0), frames=True, cameras=cameras)
    images = []
    for camera in cameras:
        video = episode.frames[f"observation.images.{camera.name}"]
        picked = np.linspace(0, len(video) - 1, count).round().astype(int)
        images += [video[i] for i in picked]
    return images
