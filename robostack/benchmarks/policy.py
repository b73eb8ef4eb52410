"""``robostack bench policy``: chunk latency at batch 1, per sampler, in one run.

The same checkpoint is timed with DDPM (every train step), DDIM and DPM-Solver++ (few steps),
and the MLP baseline beside it, on this CPU and, where CUDA is available, on the GPU. Each
figure is the median (and p99) of ``calls`` predictions of one chunk from one observation, after
warm-up calls; ratios to DDPM come from the same run.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from robostack.policies.base import Policy

SAMPLERS = (("ddpm", 100), ("ddim", 10), ("dpmsolver", 5))


def example_observation(policy: Policy, device: str = "cpu") -> dict[str, torch.Tensor]:
    """A batch-1 observation in the middle of the training ranges (the timing does not
    depend on the values)."""
    f = policy.features
    stats = policy.stats()
    state = (np.asarray(stats["state"]["min"]) + np.asarray(stats["state"]["max"])) / 2
    env = (
        np.asarray(stats["environment_state"]["min"])
        + np.asarray(stats["environment_state"]["max"])
    ) / 2
    language = np.ones(f.language_dim) / np.sqrt(f.language_dim)
    obs = {
        "state": np.tile(state, (1, f.obs_horizon, 1)),
        "environment_state": np.tile(env, (1, f.obs_horizon, 1)),
        "environment_mask": np.ones((1, f.environment_dim)),
        "language": language[None],
    }
    return {k: torch.tensor(v, dtype=torch.float32, device=device) for k, v in obs.items()}


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
