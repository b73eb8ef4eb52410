"""Franka joint velocity mode through the unmodified pylibfranka client against the virtual
Franka controller (its own process) on loopback: the safety monitor keeps a velocity jump
within the interface so no reflex fires, a STOP brakes and finishes the motion at rest, a
policy session from the launch file tracks and a reflex injected mid-episode stops it with
the recording complete, and a launch file with a bad command mode is refused first."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pylibfranka as franka
import pytest

from robostack.cli.main import main
from robostack.controllers import ChunkInterpolator, make_controller
from robostack.controllers.references import ReferenceChunker, WaypointReference
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.core.types import CommandMode, JointCommand
from robostack.hardware.franka import FrankaConfig, FrankaRobot
from robostack.runtime.assembly import make_loop
from robostack.runtime.recording import EVENTS
from robostack.runtime.safety import SafetyConfig, SafetyMonitor
from robostack.runtime.safety.events import Reaction
from tests.conftest import loopback
from tests.hardware.helpers import LOADED_READ_TIMEOUT_S, checks, read_summary
from tests.hardware.rehearsal.helpers import (
    franka_launch_file,
    inject_once_moving,
    virtual_franka,
)

ADDRESS = loopback(53)
PANDA = get_robot("panda")
GENERATOR_REFLEXES = ("joint_motion_generator", "franka_reflex")


@pytest.fixture  # one virtual controller at a time: each spins a 1 kHz clock
def panda():
    with virtual_franka(ADDRESS):
        yield ADDRESS


def _monitor() -> SafetyMonitor:
    spec, model = PANDA.spec, RigidBodyModel(PANDA)
    return SafetyMonitor(
        config=SafetyConfig.for_robot(spec),
        model=model,
        interpolator=ChunkInterpolator(limits=(spec.dq_max, spec.ddq_max, spec.dddq_max)),
        hold_controller=make_controller("impedance", spec=spec, model=model, dt=spec.dt),
    )


def test_the_monitor_keeps_a_velocity_jump_within_the_interface_so_no_reflex_fires(panda):
    """0 -> 0.3 rad/s on joint 1 and back within 1 ms: 300 rad/s^2, twenty times the limit
    (the same jump sent raw trips ``joint_motion_generator_velocity_discontinuity``:
    test_franka_controller). Through the monitor it is a ramp, CLAMP events say so."""
    monitor = _monitor()
    robot = franka.Robot(panda, franka.RealtimeConfig.kIgnore)
    control = robot.start_joint_velocity_control(franka.ControllerMode.JointImpedance)
    state, _ = control.readOnce()
    jump = np.r_[0.3, np.zeros(6)]
    sent = []
    for tick in range(400):
        asked = jump if 10 <= tick < 200 else np.zeros(7)
        command = monitor.limit_command(
            tick, state.time.to_sec(), JointCommand(CommandMode.VELOCITY, asked)
        )
        sent.append(command.values[0])
        control.writeOnce(franka.JointVelocities(command.values.tolist()))
        state, _ = control.readOnce()  # a reflex raises here
    finish = franka.JointVelocities([0.0] * 7)
    finish.motion_finished = True
    control.writeOnce(finish)
    state = robot.read_once()
    assert state.robot_mode == franka.RobotMode.Idle and not state.last_motion_errors
    assert max(sent) == pytest.approx(0.3, abs=1e-3) and sent[-1] == 0.0  # reached, at rest
    clamps = {(e.check, e.joint) for e in monitor.events if e.reaction is Reaction.CLAMP}
    assert ("command_acceleration", "panda_joint1") in clamps
    assert ("command_jerk", "panda_joint1") in clamps
    assert {joint for _, joint in clamps} == {"panda_joint1"}  # the still joints untouched


def test_a_stop_mid_move_brakes_within_the_limits_and_finishes_at_rest(panda):
    config = FrankaConfig(command_mode="velocity", realtime="ignore", gripper=False)
    with FrankaRobot(address=panda, config=config) as robot:
        state = robot.read()
        waypoints = np.stack([state.q, state.q + 0.3, state.q])
        move = WaypointReference(
            "move", waypoints, dq_max=PANDA.spec.dq_max, ddq_max=PANDA.spec.ddq_max, speed=0.5
        )
        loop = make_loop(
            robot=robot,
            model=RigidBodyModel(PANDA),
            source=ReferenceChunker(move, t_offset=state.t),
            controller="impedance",
            realtime=True,
            safety_config=SafetyConfig.for_robot(PANDA.spec, read_timeout_s=LOADED_READ_TIMEOUT_S),
        )
        fast = []

        def stop_at_speed(tick, state, reference) -> bool:
            if np.abs(state.dq).max() > 0.3 and not fast:
                fast.append(np.abs(state.dq).max())
                loop.safety.stop("test")
            return False

        result = loop.run(ticks=3000, on_tick=stop_at_speed, every=1)
        assert fast and result.outcome == "stopped", checks(result)
        assert "operator_stop" in checks(result)
        assert not [c for c in checks(result) if c.startswith(GENERATOR_REFLEXES)]
        assert np.abs(result.final_state.dq).max() < 0.05  # braked
        robot.end_motion()  # brakes the commanded velocity to rest, then motion_finished
        status = robot.status()
        assert status["robot_mode"] == "Idle" and not status["errors_active"], status


def test_a_velocity_session_from_the_launch_file_tracks_and_a_reflex_stops_it_recorded(
    tmp_path, capsys
):
    address = loopback(54)
    path = franka_launch_file(tmp_path, command_mode="velocity")
    argv = ["launch", "reach the red marker", "--launch", path, "--address", address]
    with virtual_franka(address):
        assert main([*argv, "--yes", "--speed", "1", "--json"]) in (0, 1)
        out = json.loads(capsys.readouterr().out)
        episode = out["results"][0]
        events = [(e["tick"], e["check"], e["message"]) for e in episode["events"]]
        events = [e for e in events if e[2] != "command limited"]  # the reactions but CLAMP
        assert out["preflight"]["ok"] and episode["outcome"] == "completed", events
        # paced by the 1 kHz FCI (a virtual controller on a loaded machine catches up after
        # a pause, in shorter periods)
        assert 0.5 < episode["timing"]["period_ms"]["median"] < 2.0
        summary = read_summary(episode["recording"])
        assert max(summary["rms_error_rad"]) < 0.02  # tracked through the velocity generator
        with inject_once_moving(address, "reflex", start=PANDA.q_home):  # in the episode
            assert main([*argv, "--yes", "--speed", "1", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert "results" in out, out
    episode = out["results"][0]
    assert episode["outcome"] == "stopped"
    assert "franka_reflex" in [e["check"] for e in episode["events"]]
    summary = read_summary(episode["recording"])  # the recording is complete
    assert summary["outcome"] == "stopped" and summary["ticks"] > 0
    events = (Path(episode["recording"]) / EVENTS).read_text().splitlines()
    assert "franka_reflex" in [json.loads(line)["check"] for line in events]


def test_a_bad_command_mode_is_refused_with_exit_2_before_connecting(tmp_path, capsys):
    path = franka_launch_file(tmp_path, command_mode="speedj")
    unreachable = loopback(55)  # nothing listens: connecting would fail differently
    argv = ["launch", "reach the red marker", "--launch", path, "--address", unreachable]
    assert main([*argv, "--yes"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "[connection] command_mode" in err
    assert "franka_fci takes torque, velocity, not speedj" in err
