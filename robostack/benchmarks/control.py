"""Per-tick cost of the control stack against the raw physics step it wraps.

All in one run, on the same compiled MuJoCo model: first ``ticks`` bare ``mj_step`` calls,
then ``ticks`` full loop ticks (read, chunk source, interpolator, controller, safety monitor,
write with its ``mj_step``) tracking the joint sweep; with ``record``, the same ticks again
with the session recorder on. The stack overhead of a tick is its compute time minus the
physics time inside it; the recording's cost is the difference of the tick medians.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import mujoco
import numpy as np

from robostack.sessions.tracking import TrackingOptions, tracking_session
from robostack.sim.mujoco import MujocoRobot

OVERHEAD_TARGET_US = 30.0
RECORDING_TARGET_US = 5.0


def _stats(ns: np.ndarray) -> dict:
    us = ns / 1e3
    return {"median": float(np.median(us)), "p99": float(np.percentile(us, 99))}


def _loop_ticks(options: TrackingOptions, ticks: int, *, raw: bool) -> tuple:
    """Run the loop (after ``ticks`` raw steps if ``raw``); return (raw_ns, LoopResult, dir)."""
    with tracking_session(options) as session:
        sim = session.robot
        assert isinstance(sim, MujocoRobot)
        raw_ns = np.empty(ticks if raw else 0, dtype=np.int64)
        for i in range(len(raw_ns)):
            start = time.perf_counter_ns()
            mujoco.mj_step(sim.model, sim.data)
            raw_ns[i] = time.perf_counter_ns() - start
        sim.reset(seed=options.seed)
        result = session.loop.run(ticks=ticks)
        session.summary = {"name": "bench-control", "ticks": result.ticks}
        return raw_ns, result, session.run_dir


def bench_control(*, robot: str, controller: str, ticks: int, record: bool = False) -> dict:
    """Measure raw ``mj_step`` and full loop ticks; return microsecond statistics and ratios."""
    options = TrackingOptions(robot=robot, controller=controller, reference="sweep", record=False)
    raw, result, _ = _loop_ticks(options, ticks, raw=True)
    raw_s, tick_s, overhead_s = _stats(raw), _stats(result.compute_ns), _stats(result.overhead_ns)
    report = {
        "robot": robot,
        "controller": controller,
        "dof": len(result.error_rms),
        "ticks": ticks,
        "raw_step_us": raw_s,
        "tick_us": tick_s,
        "physics_in_tick_us": _stats(result.physics_ns),
        "overhead_us": overhead_s,
        "tick_over_raw_median": tick_s["median"] / raw_s["median"],
        "overhead_target_us": OVERHEAD_TARGET_US,
        "overhead_within_target": overhead_s["median"] <= OVERHEAD_TARGET_US,
    }
    if record:
        with tempfile.TemporaryDirectory() as runs:
            recorded = TrackingOptions(
                robot=robot, controller=controller, reference="sweep", runs_dir=Path(runs)
            )
            _, with_recording, run_dir = _loop_ticks(recorded, ticks, raw=False)
            rrd_bytes = (run_dir / "session.rrd").stat().st_size
        added = float(np.median(with_recording.compute_ns) - np.median(result.compute_ns)) / 1e3
        report["recording"] = {
            "tick_us": _stats(with_recording.compute_ns),
            "added_us_median": added,
            "target_us": RECORDING_TARGET_US,
            "within_target": added <= RECORDING_TARGET_US,
            "rrd_bytes": rrd_bytes,
            "rrd_bytes_per_s": rrd_bytes / (ticks * 1e-3),
        }
    return report
