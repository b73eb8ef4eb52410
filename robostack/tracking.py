"""A tracking session: a robot on a backend follows a built-in reference through the loop.

This is what ``robostack track`` runs and what ``robostack bench control`` measures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from controllers import CONTROLLER_NAMES, make_controller
from robostack.backends import make_robot
from robostack.errors import RobostackError, UnknownNameError
from robostack.loop import ControlLoop, LockstepClock, LoopResult, WallClock
from robostack.model import RigidBodyModel
from robostack.references import Reference, ReferenceChunker, builtin_reference
from robostack.robot import Robot, SimRobot
from robostack.robots import get_robot

SETTLE_S = 0.5  # run on after the reference ends, s, so the final error is measured at rest


@dataclass(frozen=True, kw_only=True)
class TrackingOptions:
    """What to track, on what, how.

    Attributes:
        robot, backend, controller: registry names.
        reference: built-in reference name (`robostack.references.REFERENCE_NAMES`).
        speed: fraction of the joint velocity/acceleration limits the sweep uses, (0, 1].
        realtime: pace the loop by the wall clock instead of lockstep.
        seed: simulation seed.
    """

    robot: str = "panda"
    backend: str = "mujoco"
    controller: str = "computed_torque"
    reference: str = "all"
    speed: float = 0.5
    realtime: bool = False
    seed: int = 0


@dataclass(frozen=True)
class TrackingReport:
    """Outcome of `run_tracking`: the options, the reference, the loop measurements."""

    options: TrackingOptions
    reference: Reference
    joint_names: tuple[str, ...]
    result: LoopResult
    wall_s: float

    def summary(self) -> dict:
        """JSON-ready figures: errors in rad per joint, times in microseconds."""
        r = self.result
        compute_us = r.compute_ns / 1e3
        period_us = r.period_ns[1:] / 1e3 if r.ticks > 1 else r.period_ns / 1e3
        return {
            "robot": self.options.robot,
            "backend": self.options.backend,
            "controller": self.options.controller,
            "reference": self.reference.name,
            "clock": "realtime" if self.options.realtime else "lockstep",
            "joint_names": list(self.joint_names),
            "rms_error_rad": r.error_rms.tolist(),
            "max_error_rad": r.error_max.tolist(),
            "ticks": r.ticks,
            "sim_time_s": r.duration,
            "wall_s": self.wall_s,
            "tick_us_median": float(np.median(compute_us)),
            "tick_us_p99": float(np.percentile(compute_us, 99)),
            "overhead_us_median": float(np.median(r.overhead_ns) / 1e3),
            "period_us_median": float(np.median(period_us)),
            "period_us_p99": float(np.percentile(period_us, 99)),
            "overruns": r.overruns,
        }


def build_robot(options: TrackingOptions) -> Robot:
    """Validate the names in ``options`` and build the (unconnected) robot."""
    if options.controller not in CONTROLLER_NAMES:
        raise UnknownNameError("controller", options.controller, CONTROLLER_NAMES)
    if not 0 < options.speed <= 1:
        raise RobostackError(f"speed must be in (0, 1], got {options.speed}")
    return make_robot(options.backend, get_robot(options.robot))


@contextmanager
def tracking_session(
    options: TrackingOptions,
) -> Iterator[tuple[Robot, ControlLoop, Reference, int]]:
    """Build and connect everything ``options`` names; yield (robot, loop, reference, ticks).

    Every input is checked before anything moves. ``ticks`` covers the reference plus
    `SETTLE_S`. The robot is closed on exit.
    """
    robot = build_robot(options)
    description = get_robot(options.robot)
    model = RigidBodyModel(description)
    reference = builtin_reference(options.reference, description, model, speed=options.speed)
    with robot:
        if isinstance(robot, SimRobot):
            robot.reset(seed=options.seed)
        start = robot.read()
        if np.max(np.abs(start.q - description.q_home)) > 1e-3:
            raise RobostackError(
                f"the built-in references start at home {np.round(description.q_home, 3)}; "
                f"the robot is at {np.round(start.q, 3)}"
            )
        controller = make_controller(
            options.controller, spec=robot.spec, model=model, dt=robot.spec.dt
        )
        clock = WallClock(robot.spec.dt) if options.realtime else LockstepClock()
        source = ReferenceChunker(reference, t_offset=start.t)
        loop = ControlLoop(
            robot=robot,
            controller=controller,
            source=source,
            clock=clock,
            chunk_period_ticks=round(source.period * robot.spec.control_rate_hz),
        )
        ticks = round((reference.duration + SETTLE_S) * robot.spec.control_rate_hz)
        yield robot, loop, reference, ticks


def run_tracking(
    options: TrackingOptions, *, progress: Callable[[int, int], None] | None = None
) -> TrackingReport:
    """Track the built-in reference; ``progress(done, total)`` is called now and then."""
    with tracking_session(options) as (robot, loop, reference, ticks):
        wall = time.perf_counter()
        result = loop.run(
            ticks=ticks, progress=None if progress is None else lambda n: progress(n, ticks)
        )
        wall = time.perf_counter() - wall
    return TrackingReport(options, reference, robot.spec.joint_names, result, wall)
