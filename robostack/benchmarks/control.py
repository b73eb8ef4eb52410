"""Per-tick cost of the control stack against the raw physics step it wraps.

Both are measured in the same run on the same compiled MuJoCo model: first ``ticks`` bare
``mj_step`` calls, then ``ticks`` full loop ticks (read, chunk source, interpolator,
controller, write with its ``mj_step``) tracking the joint sweep. The stack overhead of a
tick is its compute time minus the physics time inside it.
"""

from __future__ import annotations

import time

import mujoco
import numpy as np

from robostack.tracking import TrackingOptions, tracking_session
from sim.mujoco import MujocoRobot

OVERHEAD_TARGET_US = 30.0


def _stats(ns: np.ndarray) -> dict:
    us = ns / 1e3
    return {"median": float(np.median(us)), "p99": float(np.percentile(us, 99))}


def bench_control(*, robot: str, controller: str, ticks: int, seed: int = 0) -> dict:
    """Measure raw ``mj_step`` and full loop ticks; return microsecond statistics and ratios."""
    options = TrackingOptions(
        robot=robot, backend="mujoco", controller=controller, reference="sweep", seed=seed
    )
    with tracking_session(options) as (sim, loop, _, _):
        assert isinstance(sim, MujocoRobot)
        raw = np.empty(ticks, dtype=np.int64)
        model, data = sim.model, sim.data
        for i in range(ticks):
            start = time.perf_counter_ns()
            mujoco.mj_step(model, data)
            raw[i] = time.perf_counter_ns() - start
        sim.reset(seed=seed)
        result = loop.run(ticks=ticks)
    raw_s, tick_s, overhead_s = _stats(raw), _stats(result.compute_ns), _stats(result.overhead_ns)
    return {
        "robot": robot,
        "controller": controller,
        "dof": sim.spec.dof,
        "ticks": ticks,
        "raw_step_us": raw_s,
        "tick_us": tick_s,
        "physics_in_tick_us": _stats(result.physics_ns),
        "overhead_us": overhead_s,
        "tick_over_raw_median": tick_s["median"] / raw_s["median"],
        "overhead_target_us": OVERHEAD_TARGET_US,
        "overhead_within_target": overhead_s["median"] <= OVERHEAD_TARGET_US,
    }
