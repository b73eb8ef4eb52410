"""``robostack bench images``: camera frames in LCM messages, raw against JPEG.

The front and wrist cameras of a task's MuJoCo scene are rendered at each size, at several
moments of its scripted expert's episode (so the arm and the objects move through the frames).
Each frame is sent as `robostack.transport.images` would: raw RGB and JPEG at each quality. Per
size and encoding: bytes per frame (and bytes/s per camera at the policy rate), encode + decode
time (median, ms) through the message's own encode and checked decode, and the pixel error of
the decoded frame against the rendered one (mean absolute error in levels of 255, and PSNR, dB).

`policy_effect` gives what that error does to a DiT from pixels: its chunk from frames sent as
JPEG against its chunk from the rendered frames, the same observations and sampler noise.
"""

from __future__ import annotations

import time

import numpy as np

from robostack.policies.base import Policy
from robostack.policies.runner import PolicyRunner
from robostack.sessions.episodes import FPS, EpisodeSpec, run_episode
from robostack.sim.cameras import CAMERAS, cameras_at
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


def policy_effect(policy: Policy, *, task: str, moments: int = 10) -> list[dict]:
    """Rows {encoding, quality, action_error_rad}: at ``moments`` observations of an expert
    episode of ``task`` (seed 0) with ``policy``'s cameras, its chunk (DDIM-10, the same noise)
    from frames sent as JPEG at each quality against its chunk from the rendered frames: the
    largest joint difference over the chunk, rad, averaged over the moments."""
    from robostack.policies.language import embed_sentences

    f = policy.features
    episode = run_episode(
        EpisodeSpec(task=task, seed=0), frames=True, cameras=cameras_at(f.cameras)
    )
    language = embed_sentences([episode.description])[0]
    states = episode.frames["observation.state"]
    picked = np.linspace(0, len(states) - 1, moments).round().astype(int)

    def chunks(encoding: str, quality: int) -> np.ndarray:
        out = []
        for i in picked:
            runner = PolicyRunner(
                policy, language=language, options={"sampler": "ddim", "steps": 10}
            )
            images = {}
            for name, _, _ in f.cameras:
                image = episode.frames[f"observation.images.{name}"][i]
                sent = encode_frame(name, image, utime=0, encoding=encoding, quality=quality)
                images[name] = decode_frame(sent)
            runner.observe(states[i], None, images=images)
            out.append(runner.predict()[:, :-1])
        return np.stack(out)

    rendered = chunks("rgb8", 90)
    return [
        {
            "encoding": "jpeg",
            "quality": quality,
            "action_error_rad": float(
                np.abs(chunks("jpeg", quality) - rendered).max(axis=(1, 2)).mean()
            ),
        }
        for quality in QUALITIES
    ]
