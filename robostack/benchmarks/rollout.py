"""Batched rollouts: episodes per minute with N episodes at once, in one run.

For each N (1, 4, 16 by default) the same seeds of a task run through
`robostack.sessions.evaluation.evaluate.run_episodes`: N episodes at a time, each in a thread
stepping its own MuJoCo simulation through the loop and the safety monitor, their chunks
predicted in one batched policy call. Given a Ray cluster, each N runs once more there
(`robostack.sessions.evaluation.evaluate.run_on_cluster`: every worker a batched set of N).
Reported: wall time, episodes per minute, the speed-up over N = 1 in this process, the
successes, and the seeds whose outcome differs from N = 1 (with a deterministic sampler the
same seeds give the same outcomes everywhere, up to floating-point summation order). Ray's
workers are warmed up first (imports, the policy loaded), untimed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from robostack.policies.base import Policy
from robostack.sessions.distributed import RayCluster
from robostack.sessions.evaluation.evaluate import EvalOptions, run_episodes, run_on_cluster


def bench_rollout(
    policy: Policy,
    *,
    checkpoint: Path,
    task: str,
    robot: str,
    episodes: int,
    sizes: tuple[int, ...] = (1, 4, 16),
    cluster: RayCluster | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """One row per N in ``sizes`` (module doc), each over seeds 0 .. ``episodes`` - 1; with a
    ``cluster``, one more per N there."""
    places = [("this process", n) for n in sizes]
    if cluster is not None:
        places += [(f"Ray, {cluster.size} workers", n) for n in sizes]
        warm = EvalOptions(task=task, robot=robot, record=0, checkpoint=checkpoint)
        run_on_cluster(cluster, warm, [(s, None, False) for s in range(cluster.size)])  # untimed:
        # the workers import robostack and load the policy once
    rows = []
    for where, n in places:
        if progress is not None:
            progress(f"{where}, N = {n}")
        options = EvalOptions(
            task=task, robot=robot, episodes=episodes, record=0, num_envs=n, checkpoint=checkpoint
        )
        specs = [(seed, None, False) for seed in range(episodes)]
        began = time.perf_counter()
        if where == "this process":
            done = run_episodes(policy, options, specs, lambda: None)
        else:
            done = run_on_cluster(cluster, options, specs)
        wall = time.perf_counter() - began
        rows.append(
            {
                "where": where,
                "num_envs": n,
                "episodes": episodes,
                "wall_s": wall,
                "episodes_per_minute": 60.0 * episodes / wall,
                "successes": sum(r.success for r in done),
                "outcomes": [r.success for r in done],
            }
        )
    base_rate, base_outcomes = rows[0]["episodes_per_minute"], rows[0]["outcomes"]
    for row in rows:
        row["speedup"] = row["episodes_per_minute"] / base_rate
        pairs = zip(row.pop("outcomes"), base_outcomes, strict=True)
        row["seeds_differing_from_n1"] = [seed for seed, (a, b) in enumerate(pairs) if a != b]
    return rows
