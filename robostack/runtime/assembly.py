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
    loop: ControlLoop | None,
    *,
    runs_dir: Path,
    name: str,
    description: RobotDescription,
    control_rate_hz: float | None = None,
) -> Iterator[SessionRecorder]:
    """Record ``loop``'s session into a new run folder; with ``loop`` None, a session of
    several loops on a robot running at ``control_rate_hz``, each attached with `record_loop`
    before it runs.

    Fill ``recorder.summary`` before leaving; on exit, normal or not, every tick is drained
    first and summary.json then says what the recording holds (or the error that ended it:
    its ``outcome`` is ``error`` unless the session had said how it ended), with the
    session's wall time ``wall_s`` and, given its ``ticks``, its robot time ``robot_s`` (ticks
    at the robot's control rate), s. A recording that fails STOPs the arm: no session runs on
    unrecorded.
    """
    began = time.monotonic()
    rate_hz = loop.robot.spec.control_rate_hz if loop is not None else control_rate_hz
    run_dir = new_run_dir(runs_dir, name)
    recorder = SessionRecorder(run_dir=run_dir, description=description, control_rate_hz=rate_hz)
    recorder.start()
    if loop is not None:
        record_loop(recorder, loop)
    try:
        yield recorder
    except BaseException as error:
        recorder.summary.setdefault("outcome", "error")
        recorder.summary["error"] = repr(error)
        raise
    finally:
        recorder.close()
        event_errors = [e for monitor in recorder.monitors for e in monitor.event_errors]
        recorder.monitors.clear()  # a monitor holds the recorder: no cycle outlives the session
        summary = {"name": name, **recorder.summary, "event_errors": event_errors}
        summary["wall_s"] = round(time.monotonic() - began, 3)
        if isinstance(summary.get("ticks"), int):
            summary["robot_s"] = summary["ticks"] / rate_hz
        recorder.write_summary(summary)


def record_loop(
    recorder: SessionRecorder, loop: ControlLoop, *, phase: str | None = None, t: float = 0.0
) -> None:
    """Record ``loop``'s ticks, chunks and safety events into ``recorder`` from now on, as
    segment ``phase`` from robot time ``t`` s if given (`SessionRecorder.begin_phase`). A
    recording that fails (or has failed) STOPs the loop."""
    if phase is not None:
        recorder.begin_phase(phase, t)
    loop.safety.listeners.append(recorder.record_event)
    loop.recorder = recorder
    recorder.monitors.append(loop.safety)
    run_dir = recorder.run_dir
    recorder.on_error = lambda error: loop.safety.stop(
        f"the recording in {run_dir} failed: {error}"
    )
    if recorder.error is not None:
        recorder.on_error(recorder.error)
