"""Assembling a session: the loop around a robot, and its recording.

Shared by tracking sessions (`robostack.sessions.tracking`) and task episodes
(`robostack.sessions.episodes`): every session gets the same safety monitor (HOLD under the robot's
default joint impedance) and, when recorded, the same run folder and summary.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from robostack.controllers import ChunkInterpolator, make_controller
from robostack.core.model import RigidBodyModel
from robostack.core.robot import DynamicsModel, Robot
from robostack.core.robots import RobotDescription
from robostack.runtime.loop import (
    ChunkSource,
    ControlLoop,
    Link,
    LockstepClock,
    RobotPacedClock,
    WallClock,
)
from robostack.runtime.recording import SessionRecorder, new_run_dir
from robostack.runtime.safety import SafetyConfig, SafetyMonitor


def make_loop(
    *,
    robot: Robot,
    model: RigidBodyModel,
    source: ChunkSource,
    controller: str,
    realtime: bool,
    safety_config: SafetyConfig | None = None,
    gains: dict | None = None,
    controller_model: DynamicsModel | None = None,
    link: Link | None = None,
) -> ControlLoop:
    """The control loop for a connected ``robot``: ``controller`` (a registry name, with
    ``gains`` overriding its defaults) tracks chunks from ``source`` (asked every
    ``source.period`` s) through a safety monitor. A robot that paces itself (a real one)
    runs on `RobotPacedClock`; otherwise ``realtime`` picks the wall clock or lockstep.
    ``controller_model`` replaces ``model`` for the controller (a robot's own dynamics).
    ``link``: the process link (`robostack.transport.ControlLink`), bound to the new monitor."""
    spec = robot.spec
    interpolator = ChunkInterpolator(limits=(spec.dq_max, spec.ddq_max, spec.dddq_max))
    safety = SafetyMonitor(
        config=safety_config or SafetyConfig.for_robot(spec),
        model=model,
        interpolator=interpolator,
        hold_controller=make_controller("impedance", spec=spec, model=model, dt=spec.dt),
    )
    if link is not None:
        link.bind(safety, command_mode=robot.command_mode)
    return ControlLoop(
        robot=robot,
        controller=make_controller(
            controller, spec=spec, model=controller_model or model, dt=spec.dt, gains=gains
        ),
        source=source,
        clock=_clock(robot, realtime),
        safety=safety,
        interpolator=interpolator,
        chunk_period_ticks=max(1, round(source.period * spec.control_rate_hz)),
        link=link,
    )


def _clock(robot: Robot, realtime: bool) -> LockstepClock | WallClock | RobotPacedClock:
    if robot.paces_itself:
        return RobotPacedClock()
    return WallClock(robot.spec.dt) if realtime else LockstepClock()


@contextmanager
def recording(
    loop: ControlLoop, *, runs_dir: Path, name: str, description: RobotDescription
) -> Iterator[SessionRecorder]:
    """Record ``loop``'s session into a new run folder.

    Fill ``recorder.summary`` before leaving; on exit, normal or not, every tick is drained
    first and summary.json then says what the recording holds (or the error that ended it),
    with the session's wall time ``wall_s`` and, given its ``ticks``, its robot time
    ``robot_s`` (ticks at the robot's control rate), s.
    """
    began = time.monotonic()
    recorder = SessionRecorder(
        run_dir=new_run_dir(runs_dir, name),
        description=description,
        control_rate_hz=loop.robot.spec.control_rate_hz,
    )
    recorder.start()
    loop.safety.listeners.append(recorder.record_event)
    loop.recorder = recorder
    try:
        yield recorder
    except BaseException as error:
        recorder.summary = {"name": name, "outcome": "error", "error": repr(error)}
        raise
    finally:
        recorder.close()
        summary = {"name": name, **recorder.summary, "event_errors": loop.safety.event_errors}
        summary["wall_s"] = round(time.monotonic() - began, 3)
        if isinstance(summary.get("ticks"), int):
            summary["robot_s"] = summary["ticks"] / loop.robot.spec.control_rate_hz
        recorder.write_summary(summary)
