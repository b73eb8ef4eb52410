"""Batched rollouts: episodes per minute with N episodes at once, in one run.

For each N (1, 4, 16 by default) the same seeds of a task run through
`robostack.evaluation.evaluate.run_episodes`: N episodes at a time, each in a thread stepping
its own MuJoCo simulation through the loop and the safety monitor, their chunks predicted in
one batched policy call. Reported: wall time, episodes per minute, the speed-up over N = 1,
the successes, and the seeds whose outcome differs from N = 1 (with a deterministic sampler
the same seeds give the same outcomes at every N, up to floating-point summation order).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from policies.base import Policy
from robostack.evaluation.evaluate import EvalOptions, run_episodes


def bench_rollout(
    policy: Policy,
    *,
    task: str,
    robot: str,
    episodes: int,
    sizes: tuple[int, ...] = (1, 4, 16),
    progress: Callable[[int], None] | None = None,
) -> list[dict]:
    """One row per N in ``sizes`` (module doc), each over seeds 0 .. ``episodes`` - 1."""
    rows = []
    for n in sizes:
        if progress is not None:
            progress(n)
        options = EvalOptions(task=task, robot=robot, episodes=episodes, record=0, num_envs=n)
        specs = [(seed, None, False) for seed in range(episodes)]
        began = time.perf_counter()
        done = run_episodes(policy, options, specs, lambda: None)
        wall = time.perf_counter() - began
        rows.append(
            {
                "num_envs": n,
                "episodes": episodes,
                "wall_s": wall,
                "episodes_per_minute": 60.0 * episodes / wall,
                "successes": sum(r.success for r, _ in done),
                "outcomes": [bool(r.success) for r, _ in done],
            }
        )
    base_rate, base_outcomes = rows[0]["episodes_per_minute"], rows[0]["outcomes"]
    for row in rows:
        row["speedup"] = row["episodes_per_minute"] / base_rate
        pairs = zip(row.pop("outcomes"), base_outcomes, strict=True)
        row["seeds_differing_from_n1"] = [seed for seed, (a, b) in enumerate(pairs) if a != b]
    return rows
