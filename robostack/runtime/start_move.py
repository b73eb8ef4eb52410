"""The start move: a slow jerk-limited joint move (ruckig) to a session's start configuration.

Before a policy runs on a real robot, the arm goes from wherever it stands to the start
configuration along ruckig's time-optimal jerk-limited profile at ``speed`` x the robot's
velocity, acceleration and jerk limits, through the same loop, controller and safety monitor
as every session. The move ends the robot's motion afterwards (`Robot.end_motion`).

Given the session's recorder, the move is recorded as the session's first segment
(``start_move``: its ticks, its safety events in events.jsonl) and summary.json says how it
went under ``start_move``: ``outcome`` (``completed``, or ``held``, ``stopped``,
``not_arrived``, ``interrupted``), ``duration_s``, ``ticks``, ``error_rad`` (the largest
joint's distance from the start configuration at the end; null when the robot could not be
read) and ``events``, also when it fails.
"""

from __future__ import annotations

import numpy as np

from robostack.controllers.references import Reference, ReferenceChunker
from robostack.core.errors import RobostackError, SessionFailedError
from robostack.core.model import RigidBodyModel
from robostack.core.robot import Robot
from robostack.core.types import RobotSpec
from robostack.runtime.assembly import make_loop, record_loop
from robostack.runtime.loop import Link, LoopResult
from robostack.runtime.recording import SessionRecorder
from robostack.runtime.safety import SafetyConfig
from robostack.runtime.safety.operator import stop_on_signals
from robostack.runtime.safety.overrides import SafetyOverrides

START_MOVE_SPEED = 0.1  # share of the robot's velocity, acceleration and jerk limits
ARRIVAL_TOLERANCE = 0.01  # rad: the start move must end this close on every joint
SETTLE_S = 0.5  # held at the goal after the profile ends, s


class JerkLimitedMove(Reference):
    """Rest-to-rest joint move from ``q_from`` to ``q_to`` (dof,) rad, time-optimal under
    ``speed`` x ``spec``'s velocity, acceleration and jerk limits, every joint synchronised."""

    def __init__(self, q_from: np.ndarray, q_to: np.ndarray, spec: RobotSpec, *, speed: float):
        from ruckig import InputParameter, Result, Ruckig, Trajectory

        if not 0 < speed <= 1:
            raise RobostackError(f"the start move's speed must be in (0, 1], got {speed}")
        spec.check_positions(q_to, what="start configuration")
        dof = spec.dof
        inp = InputParameter(dof)
        inp.current_position = np.asarray(q_from, dtype=float).tolist()
        inp.target_position = np.asarray(q_to, dtype=float).tolist()
        inp.max_velocity = (speed * spec.dq_max).tolist()
        inp.max_acceleration = (speed * spec.ddq_max).tolist()
        inp.max_jerk = (speed * spec.dddq_max).tolist()
        self._trajectory = Trajectory(dof)
        result = Ruckig(dof).calculate(inp, self._trajectory)
        if result not in (Result.Working, Result.Finished):
            raise RobostackError(f"ruckig could not plan the start move: {result}")
        self.name = "start move"
        self.duration = float(self._trajectory.duration)
        self._q_to = np.asarray(q_to, dtype=float)

    def positions(self, t: np.ndarray) -> np.ndarray:
        t = np.clip(np.atleast_1d(t), 0.0, self.duration)
        return np.array([self._trajectory.at_time(float(ti))[0] for ti in t])


def move_to_start(
    robot: Robot,
    q_start: np.ndarray,
    *,
    model: RigidBodyModel,
    controller: str = "impedance",
    speed: float = START_MOVE_SPEED,
    safety: SafetyOverrides | None = None,
    link: Link | None = None,
    recorder: SessionRecorder | None = None,
) -> LoopResult:
    """Move the connected ``robot`` to ``q_start`` (dof,) rad (module doc); return the loop's
    measurements. Raises `SessionFailedError` (the arm moved: not a refusal) when the safety
    monitor ended the move or the arm did not arrive within `ARRIVAL_TOLERANCE`,
    KeyboardInterrupt after a Ctrl-C (or SIGTERM, SIGHUP) stopped it.
    ``link``: the process link of a split session (status out, operator stops in).
    ``recorder``: the session's recording, which the move goes into (module doc)."""
    state = robot.read()
    move = JerkLimitedMove(state.q, q_start, robot.spec, speed=speed)
    loop = make_loop(
        robot=robot,
        model=model,
        source=ReferenceChunker(move, t_offset=None),  # from the loop's first tick
        controller=controller,
        realtime=True,
        safety_config=SafetyConfig.for_robot(robot.spec)
        if safety is None
        else safety.config(robot.spec),
        link=link,
    )
    if recorder is not None:
        record_loop(recorder, loop, phase="start_move", t=state.t)
    with stop_on_signals(loop.safety) as signalled:
        result = loop.run(ticks=round((move.duration + SETTLE_S) * robot.spec.control_rate_hz))
    error = np.inf if result.final_state is None else np.abs(result.final_state.q - q_start).max()
    outcome = result.outcome
    if signalled.asked:
        outcome = "interrupted"
    elif outcome == "completed" and error > ARRIVAL_TOLERANCE:
        outcome = "not_arrived"
    where = ""
    if recorder is not None:
        recorder.summary["start_move"] = {
            "outcome": outcome,
            "duration_s": result.duration,
            "ticks": result.ticks,
            "error_rad": float(error) if np.isfinite(error) else None,
            "events": [e.to_dict() for e in result.events],
        }
        where = f" (recorded in {recorder.run_dir})"
    if signalled.asked:
        raise KeyboardInterrupt("the operator stopped the start move (Ctrl-C or a stop signal)")
    if result.outcome != "completed":
        events = "; ".join(f"{e.check}: {e.message}" for e in result.events)
        raise SessionFailedError(f"the start move ended {result.outcome}: {events}{where}")
    robot.end_motion()
    if outcome == "not_arrived":
        raise SessionFailedError(
            f"the start move ended {error:.3f} rad from the start configuration "
            f"(allowed {ARRIVAL_TOLERANCE} rad){where}"
        )
    return result
