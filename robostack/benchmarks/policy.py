"""``robostack bench policy``: chunk latency at batch 1, per sampler, in one run.

The same checkpoint is timed with DDPM (every train step), DDIM and DPM-Solver++ (few steps),
and the MLP baseline beside it, on this CPU and, where CUDA is available, on the GPU. Each
figure is the median (and p99) of ``calls`` predictions of one chunk from one observation, after
warm-up calls; ratios to DDPM come from the same run. `pixel_variant` builds the checkpoint's
DiT as a policy from cameras (same denoiser, image encoders instead of the object state;
untrained: the timing does not depend on the weights), timed with DDIM including the encoding
of every image of the observation, and as an episode's runner predicts (``dit-pixels-runner``):
each chunk brings one new frame per camera, the frames before it already encoded
(`robostack.policies.runner.FrameEncodings`).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch

from robostack.policies.base import Policy
from robostack.policies.features import image_key

SAMPLERS = (("ddpm", 100), ("ddim", 10), ("dpmsolver", 5))


def example_observation(policy: Policy, device: str = "cpu") -> dict[str, torch.Tensor]:
    """A batch-1 observation in the middle of the training ranges, mid-grey images (the
    timing does not depend on the values)."""
    f = policy.features
    stats = policy.stats()

    def middle(key: str) -> np.ndarray:
        return (np.asarray(stats[key]["min"]) + np.asarray(stats[key]["max"])) / 2

    language = np.ones(f.language_dim) / np.sqrt(f.language_dim)
    obs = {"state": np.tile(middle("state"), (1, f.obs_horizon, 1)), "language": language[None]}
    if f.environment_dim:
        obs["environment_state"] = np.tile(middle("environment_state"), (1, f.obs_horizon, 1))
        obs["environment_mask"] = np.ones((1, f.environment_dim))
    for name, height, width in f.cameras:
        obs[image_key(name)] = np.full((1, f.obs_horizon, 3, height, width), 0.5)
    return {k: torch.tensor(v, dtype=torch.float32, device=device) for k, v in obs.items()}


def pixel_variant(dit: Policy, *, cameras: tuple[str, ...], size: int, image_width: int) -> Policy:
    """``dit``'s network from ``cameras`` (square ``size`` px images, a trunk of
    ``image_width``) instead of the object state, untrained."""
    features = dataclasses.replace(
        dit.features, environment_dim=0, cameras=tuple((c, size, size) for c in cameras)
    )
    config = dataclasses.replace(dit.config, features=features, image_width=image_width)
    stats = {k: v for k, v in dit.stats().items() if k != "environment_state"}
    stats |= {image_key(c): {"mean": [0.5] * 3, "std": [0.25] * 3} for c in cameras}
    return type(dit)(config, stats).eval()


def bench_pixels(dit: Policy, pixel: Policy, *, calls: int = 50) -> list[dict]:
    """Rows {policy, sampler, network_calls, device, median_ms, p99_ms, vs_state}: DDIM-10 on
    the CPU for the state-based ``dit``, its ``pixel`` variant (every image encoded in every
    call) and the pixel variant as the runner calls it (one new frame per camera encoded), in
    one run; ``encode_ms``: the pixel policy's observation encoding alone."""
    rows = []
    for label, policy in (("dit", dit), ("dit-pixels", pixel)):
        obs = example_observation(policy)
        generator = torch.Generator().manual_seed(0)
        timing = time_chunks(
            lambda p=policy, o=obs, g=generator: p.predict_chunk(
                o, sampler="ddim", steps=10, generator=g
            ),
            calls=calls,
        )
        row = {"policy": label, "sampler": "ddim", "network_calls": 10, "device": "cpu"} | timing
        if policy is pixel:
            with torch.no_grad():
                encode = time_chunks(lambda p=policy, o=obs: p.encode(o), calls=calls)
            row["encode_ms"] = encode["median_ms"]
            f = policy.features
            row["images"] = f.obs_horizon * len(f.cameras)
            row["image_size"] = f.cameras[0][1]
        rows.append(row)
    rows.append(
        {"policy": "dit-pixels-runner", "sampler": "ddim", "network_calls": 10}
        | {"device": "cpu", **_time_runner_chunks(pixel, calls=calls)}
    )
    for row in rows:
        row["vs_state"] = row["median_ms"] / rows[0]["median_ms"]
    return rows


def _time_runner_chunks(pixel: Policy, *, calls: int, warmup: int = 3) -> dict[str, float]:
    """Median and p99 of a runner's chunk, ms: each observation's latest frames new (random
    pixels), the earlier ones encoded by an earlier chunk."""
    from robostack.policies.runner import FrameEncodings

    obs = example_observation(pixel)
    f, encodings = pixel.features, FrameEncodings(pixel)
    rng = torch.Generator().manual_seed(0)
    chunks = []
    for _ in range(warmup + calls):
        step = dict(obs)
        for name, height, width in f.cameras:
            key = image_key(name)
            new = torch.rand((1, 1, 3, height, width), generator=rng)
            step[key] = torch.cat([chunks[-1][key][:, 1:] if chunks else obs[key][:, 1:], new], 1)
        chunks.append(step)
    generator = torch.Generator().manual_seed(0)
    times = []
    for k, step in enumerate(chunks):
        began = time.perf_counter()
        tokens = encodings(step)
        pixel.predict_chunk(
            step, sampler="ddim", steps=10, generator=generator, frame_tokens=tokens
        )
        if k >= warmup:
            times.append((time.perf_counter() - began) * 1e3)
    return {"median_ms": float(np.median(times)), "p99_ms": float(np.percentile(times, 99))}


def time_chunks(predict, *, calls: int, warmup: int = 3, sync=None) -> dict[str, float]:
    """Median and p99 of ``predict()`` wall time, ms."""
    for _ in range(warmup):
        predict()
    times = []
    for _ in range(calls):
        began = time.perf_counter()
        predict()
        if sync is not None:
            sync()
        times.append((time.perf_counter() - began) * 1e3)
    return {"median_ms": float(np.median(times)), "p99_ms": float(np.percentile(times, 99))}


def bench_policy(
    dit: Policy, baseline: Policy | None, *, calls: int = 50, device: str = "cpu"
) -> list[dict]:
    """Rows {policy, sampler, network_calls, device, median_ms, p99_ms, vs_ddpm}."""
    sync = torch.cuda.synchronize if device == "cuda" else None
    rows = []
    dit = dit.to(device)
    obs = example_observation(dit, device)
    generator = torch.Generator(device=device).manual_seed(0)
    for sampler, steps in SAMPLERS:
        timing = time_chunks(
            lambda s=sampler, n=steps: dit.predict_chunk(
                obs, sampler=s, steps=n, generator=generator
            ),
            calls=max(5, calls // 5) if sampler == "ddpm" else calls,
            sync=sync,
        )
        rows.append(
            {"policy": "dit", "sampler": sampler, "network_calls": steps, "device": device} | timing
        )
    if baseline is not None:
        baseline = baseline.to(device)
        base_obs = example_observation(baseline, device)
        timing = time_chunks(lambda: baseline.predict_chunk(base_obs), calls=calls, sync=sync)
        rows.append(
            {"policy": baseline.name, "sampler": "-", "network_calls": 1, "device": device} | timing
        )
    ddpm = rows[0]["median_ms"]
    for row in rows:
        row["vs_ddpm"] = row["median_ms"] / ddpm
    return rows
