"""A tracking session: a robot on a backend follows a built-in reference through the loop.

This is what ``robostack track`` runs and what ``robostack bench control`` measures. Every
session goes through the safety monitor and, unless switched off, leaves a recording in
``runs/<timestamp>-<name>/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robostack.controllers import CONTROLLER_NAMES
from robostack.controllers.references import Reference, ReferenceChunker, builtin_reference
from robostack.core.errors import RobostackError, UnknownNameError
from robostack.core.model import RigidBodyModel
from robostack.core.paths import DEFAULT_RUNS_DIR
from robostack.core.robot import Robot, SimRobot
from robostack.core.robots import get_robot
from robostack.runtime.assembly import make_loop, recording
from robostack.runtime.backends import make_robot
from robostack.runtime.loop import ControlLoop, LoopResult
from robostack.runtime.recording import SessionRecorder
from robostack.runtime.safety import SafetyConfig, SafetyMonitor
from robostack.runtime.safety.operator import stop_on_signals

SETTLE_S = 0.5  # run on after the reference ends, s, so the final error is measured at rest
MAX_SPEED = 0.9  # at the full velocity limit any tracking overshoot would trip the monitor


@dataclass(frozen=True, kw_only=True)
class TrackingOptions:
    """What to track, on what, how.

    Attributes:
        robot, backend, controller: registry names.
        reference: built-in reference name (`robostack.controllers.references.REFERENCE_NAMES`).
        speed: fraction of the joint velocity/acceleration limits the sweep uses, (0, 0.9].
        realtime: pace the loop by the wall clock instead of lockstep.
        seed: simulation seed.
        record: write a recording to ``runs_dir``.
        runs_dir: where run folders are created.
    """

    robot: str = "panda"
    backend: str = "mujoco"
    controller: str = "computed_torque"
    reference: str = "all"
    speed: float = 0.5
    realtime: bool = False
    seed: int = 0
    record: bool = True
    runs_dir: Path = DEFAULT_RUNS_DIR

    @property
    def name(self) -> str:
        return f"track-{self.robot}-{self.controller}"


@dataclass
class TrackingSession:
    """Everything a running tracking session is made of (yielded by `tracking_session`)."""

    options: TrackingOptions
    robot: Robot
    loop: ControlLoop
    safety: SafetyMonitor
    reference: Reference
    ticks: int
    recorder: SessionRecorder | None = None
    summary: dict = field(default_factory=dict)

    @property
    def run_dir(self) -> Path | None:
        return None if self.recorder is None else self.recorder.run_dir


@dataclass(frozen=True)
class TrackingReport:
    """Outcome of `run_tracking`: the options, the reference, the loop measurements."""

    options: TrackingOptions
    reference: Reference
    joint_names: tuple[str, ...]
    result: LoopResult
    wall_s: float
    run_dir: Path | None

    def summary(self) -> dict:
        """JSON-ready figures: errors in rad per joint, times in microseconds."""
        r = self.result
        compute_us = r.compute_ns / 1e3
        period_us = r.period_ns[1:] / 1e3 if r.ticks > 1 else r.period_ns / 1e3
        return {
            "name": self.options.name,
            "robot": self.options.robot,
            "backend": self.options.backend,
            "controller": self.options.controller,
            "reference": self.reference.name,
            "clock": "realtime" if self.options.realtime else "lockstep",
            "outcome": r.outcome,
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
            "events": [e.to_dict() for e in r.events],
            "run_dir": None if self.run_dir is None else str(self.run_dir),
        }


def build_robot(options: TrackingOptions) -> Robot:
    """Validate the names in ``options`` and build the (unconnected) robot."""
    if options.controller not in CONTROLLER_NAMES:
        raise UnknownNameError("controller", options.controller, CONTROLLER_NAMES)
    if not 0 < options.speed <= MAX_SPEED:
        raise RobostackError(f"speed must be in (0, {MAX_SPEED}], got {options.speed}")
    return make_robot(options.backend, get_robot(options.robot))


@contextmanager
def tracking_session(
    options: TrackingOptions, *, safety_config: SafetyConfig | None = None
) -> Iterator[TrackingSession]:
    """Build and connect everything ``options`` names and yield the session.

    Every input is checked before anything moves. On exit, normal or not, the robot is
    closed and the recording is flushed with a summary.json (``session.summary``, or the
    error that ended the session).
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
        loop = make_loop(
            robot=robot,
            model=model,
            source=ReferenceChunker(reference, t_offset=start.t),
            controller=options.controller,
            realtime=options.realtime,
            safety_config=safety_config,
        )
        ticks = round((reference.duration + SETTLE_S) * robot.spec.control_rate_hz)
        session = TrackingSession(options, robot, loop, loop.safety, reference, ticks)
        if not options.record:
            yield session
            return
        with recording(
            loop, runs_dir=options.runs_dir, name=options.name, description=description
        ) as recorder:
            session.recorder = recorder
            yield session
            recorder.summary = session.summary


def run_tracking(
    options: TrackingOptions,
    *,
    progress: Callable[[int, int], None] | None = None,
    safety_config: SafetyConfig | None = None,
) -> TrackingReport:
    """Track the built-in reference; SIGINT stops the arm through the safety monitor.

    ``progress(done, total)`` is called now and then with tick counts.
    """
    with tracking_session(options, safety_config=safety_config) as session:
        ticks = session.ticks
        wall = time.perf_counter()
        with stop_on_signals(session.safety):
            result = session.loop.run(
                ticks=ticks, progress=None if progress is None else lambda n: progress(n, ticks)
            )
        wall = time.perf_counter() - wall
        report = TrackingReport(
            options,
            session.reference,
            session.robot.spec.joint_names,
            result,
            wall,
            session.run_dir,
        )
        session.summary = report.summary()
    return report
