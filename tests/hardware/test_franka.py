"""The Franka backend against the pylibfranka stand-in: connection, control, faults, model."""

from __future__ import annotations

import time

import numpy as np
import pytest

from robostack.core.errors import RobostackError, RobotConnectionError, RobotFaultError
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.core.types import CommandMode, JointCommand
from robostack.hardware.franka import FrankaConfig, FrankaRobot
from robostack.hardware.rehearsal.standins import rehearsal
from robostack.hardware.rehearsal.virtual.franka_motion import MAX_TORQUE_RATE
from robostack.runtime.preflight import preflight
from robostack.runtime.recording import EVENTS
from robostack.runtime.start_move import move_to_start
from tests.hardware.helpers import (
    checks,
    close_the_hand,
    loaded_overrides,
    run_session,
)

ADDRESS = "172.16.0.2"
HOME = get_robot("panda").q_home


@pytest.fixture
def franka():
    """A connected FrankaRobot on a (not real-time) stand-in, and the virtual arm."""
    with (
        rehearsal("franka_fci", "panda", ADDRESS, realtime=False) as (client, arm),
        FrankaRobot(address=ADDRESS, client=client) as robot,
    ):
        yield robot, arm


def test_connect_sets_collision_behaviour_impedance_and_load():
    with (
        rehearsal("franka_fci", "panda", ADDRESS, realtime=False) as (client, _),
        FrankaRobot(address=ADDRESS, client=client, config=FrankaConfig(load_mass=0.4)) as robot,
    ):
        assert robot._robot.impedance == list(FrankaConfig().joint_impedance)
        assert np.allclose(
            robot._robot.motion.collision_torque, FrankaConfig().collision_torque_upper
        )
        assert robot.status()["payload_kg"] == pytest.approx(0.4)


def test_torque_control_tracks_a_move_and_ends_the_motion_cleanly(franka):
    robot, _ = franka
    result = run_session(robot, seconds=2.5, offset=0.2)
    assert result.outcome == "completed" and not result.events
    assert result.error_max.max() < 0.01
    assert robot._control is not None  # torque control was started by the first write
    robot.end_motion()
    assert robot._control is None and robot._robot.motion.mode.name == "Idle"
    assert run_session(robot, seconds=0.2).outcome == "completed"  # a new motion starts


def test_velocity_control_tracks_a_move_and_ends_the_motion_at_rest():
    config = FrankaConfig(command_mode="velocity")
    with (
        rehearsal("franka_fci", "panda", ADDRESS, realtime=False) as (client, _),
        FrankaRobot(address=ADDRESS, client=client, config=config) as robot,
    ):
        assert robot.command_mode is CommandMode.VELOCITY
        result = run_session(robot, seconds=2.5, offset=0.2)
        assert result.outcome == "completed" and not result.events
        assert result.error_max.max() < 0.01
        motion = robot._robot.motion
        assert motion.velocity and np.abs(motion.q_d - robot.read().q).max() < 1e-3
        robot.end_motion()  # brakes the command to rest, then finishes: no generator reflex
        assert robot._control is None and motion.mode.name == "Idle" and not motion.errors
        with pytest.raises(RobostackError, match="takes velocity commands"):
            robot.write(JointCommand.torque(np.zeros(7)))


def test_connection_refused_is_a_clear_error_and_a_failed_preflight():
    with rehearsal("franka_fci", "panda", ADDRESS, realtime=False) as (client, _):
        robot = FrankaRobot(address="172.16.0.9", client=client)
        with pytest.raises(RobotConnectionError, match=r"172.16.0.9.*connection refused"):
            robot.connect()
        report = preflight(
            robot, backend="franka_fci", address="172.16.0.9", q_start=HOME, payload_kg=0.0
        )
    assert not report.ok and "reachable" in report.failures()


def test_communication_loss_mid_session_stops_the_loop(franka):
    robot, arm = franka
    arm.inject("communication_loss", at=0.3)
    result = run_session(robot, seconds=1.0)
    assert result.outcome == "stopped" and "communication_loss" in checks(result)
    assert result.ticks == pytest.approx(300, abs=2)


def test_a_reflex_stops_and_only_an_operator_recovery_clears_it(franka):
    robot, arm = franka
    arm.inject("reflex", at=0.2)
    result = run_session(robot, seconds=1.0)
    assert result.outcome == "stopped" and "franka_reflex" in checks(result)
    assert "joint_reflex" in result.events[0].message
    again = run_session(robot, seconds=0.1)  # no automatic restart: every write is refused
    assert again.outcome == "stopped" and checks(again)[-1] == "franka_reflex"
    assert robot._control is None and again.ticks == 0
    robot.recover()
    assert run_session(robot, seconds=0.2).outcome == "completed"


def test_an_emergency_stop_stops_and_cannot_be_recovered_from_software(franka):
    robot, arm = franka
    arm.inject("emergency_stop", at=0.2)
    result = run_session(robot, seconds=1.0)
    assert result.outcome == "stopped" and "emergency_stop" in checks(result)
    with pytest.raises(RobotFaultError, match="user stop"):
        robot.recover()


def test_the_robot_model_answers_at_the_measured_state_only(franka):
    robot, _ = franka
    state = robot.read()
    model, ours = robot.dynamics_model(), RigidBodyModel(get_robot("panda"))
    assert np.allclose(model.mass_matrix(state.q), ours.mass_matrix(state.q))
    assert np.allclose(model.coriolis(state.q, state.dq), ours.coriolis(state.q, state.dq))
    with pytest.raises(ValueError, match="last measured state"):
        model.mass_matrix(state.q + 0.1)
    result = run_session(robot, seconds=1.0, offset=0.1, controller="computed_torque")
    assert result.outcome == "completed"


def test_the_backend_low_pass_and_rate_limit_keep_fci_s_torque_rate(franka):
    robot, _ = franka
    robot.read()
    robot._shape(np.zeros(7))
    tau = robot._shape(np.full(7, 50.0))  # a 50 Nm step
    assert np.abs(tau).max() <= FrankaConfig().torque_rate_limit * 1e-3 + 1e-12
    assert np.abs(tau).max() < MAX_TORQUE_RATE * 1e-3


def test_the_gripper_follows_the_gripper_channel(franka):
    robot, _ = franka
    robot.read()
    robot.write(JointCommand.torque(np.zeros(7), gripper=0.02))
    deadline = time.monotonic() + 30.0  # the gripper's worker thread needs the interpreter
    while robot._gripper._sent != 0.02 and time.monotonic() < deadline:
        robot.write(JointCommand.torque(np.zeros(7)))
        robot.read()
    assert robot._gripper._sent == 0.02


@pytest.mark.parametrize(
    "grasp", [{"grasp_force": 80.0}, {"grasp_speed": 0.2}, {"grasp_width": 0.09}]
)
def test_a_grasp_beyond_the_hand_s_force_speed_or_width_is_refused(grasp):
    with pytest.raises(ValueError, match="grasp_force in"):
        FrankaConfig(**grasp)


def test_the_stand_in_hand_closing_on_nothing_fails_the_grasp_and_holds_the_arm(franka, tmp_path):
    robot, _ = franka
    result, run_dir = close_the_hand(robot, runs_dir=tmp_path)
    assert result.outcome == "held" and checks(result) == ["grasp_failed"]
    assert robot.read().gripper_width < 1e-3  # closed to the minimum width
    assert "grasp_failed" in (run_dir / EVENTS).read_text()


def test_the_start_move_is_jerk_limited_and_arrives(franka):
    robot, _ = franka
    q0 = robot.read().q
    assert np.abs(q0 - HOME).max() == pytest.approx(0.3)
    result = move_to_start(
        robot, HOME, model=RigidBodyModel(get_robot("panda")), safety=loaded_overrides(robot)
    )
    assert np.abs(result.final_state.q - HOME).max() < 0.01
    assert robot._control is None  # the move ended its motion
