"""The unmodified pylibfranka client against the virtual Franka controller (its own process)
on loopback: the FCI calls, a torque discontinuity tripping a reflex as on the arm, the Hand,
then the real-robot session path from the CLI, a reflex injected mid-episode, the user stop."""

from __future__ import annotations

import json

import numpy as np
import pylibfranka as franka
import pytest

from robostack.cli.main import main
from robostack.controllers.rate_limit import VelocityLimits, limit_velocity
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.hardware.rehearsal.virtual.fci import STATE
from robostack.hardware.rehearsal.virtual.process import inject, virtual_controller
from tests.conftest import loopback
from tests.hardware.helpers import read_summary
from tests.hardware.rehearsal.helpers import franka_launch_file, inject_once_moving

ADDRESS = loopback(51)


@pytest.fixture(scope="module")
def panda():
    with virtual_controller("franka", ADDRESS):
        yield ADDRESS


def _torques(tau) -> franka.Torques:
    return franka.Torques([float(v) for v in tau])


def test_connect_setters_model_and_a_torque_motion(panda):
    assert STATE.size == 1377
    robot = franka.Robot(panda, franka.RealtimeConfig.kIgnore)
    robot.set_collision_behavior([20.0] * 7, [20.0] * 7, [20.0] * 6, [20.0] * 6)
    robot.set_joint_impedance([3000.0] * 7)
    robot.set_load(0.0, [0.0] * 3, [0.0] * 9)
    state = robot.read_once()
    assert state.robot_mode == franka.RobotMode.Idle and not state.current_errors
    ours = RigidBodyModel(get_robot("panda")).gravity(np.array(state.q))
    theirs = np.array(robot.load_model().gravity(state))  # Pinocchio on the served URDF
    assert np.abs(theirs - ours).max() < 0.05 * np.abs(ours).max()
    control = robot.start_torque_control()
    times = []
    for _ in range(300):
        state, _ = control.readOnce()
        times.append(state.time.to_sec())
        control.writeOnce(_torques(np.zeros(7)))
    assert np.allclose(np.diff(times)[np.diff(times) > 0].min(), 0.001)  # the 1 kHz clock
    finish = _torques(np.zeros(7))
    finish.motion_finished = True
    control.writeOnce(finish)
    assert robot.read_once().robot_mode == franka.RobotMode.Idle


def test_a_torque_jump_trips_a_reflex_and_recovery_clears_it(panda):
    robot = franka.Robot(panda, franka.RealtimeConfig.kIgnore)
    control = robot.start_torque_control()
    control.readOnce()
    with pytest.raises(franka.ControlException, match="controller_torque_discontinuity"):
        for _ in range(10):  # 5 Nm within 1 ms: 5000 Nm/s, above FCI's 1000
            control.writeOnce(_torques([5.0, 0, 0, 0, 0, 0, 0]))
            control.readOnce()
    del control
    assert "controller_torque_discontinuity" in str(robot.read_once().current_errors)
    robot.automatic_error_recovery()
    state = robot.read_once()
    assert state.robot_mode == franka.RobotMode.Idle and not state.current_errors


def test_the_hand_moves_homes_and_reports_a_grasp_on_nothing_as_unsuccessful(panda):
    hand = franka.Gripper(panda)
    state = hand.read_once()
    assert state.max_width == pytest.approx(0.08) and state.width == pytest.approx(0.08, abs=1e-3)
    assert hand.move(0.02, 0.05) and hand.read_once().width == pytest.approx(0.02, abs=2e-3)
    assert hand.homing() and hand.read_once().width == pytest.approx(0.08, abs=2e-3)
    assert not hand.grasp(0.03, 0.05, 20.0, 0.005, 0.005)  # the fingers closed on nothing
    assert not hand.read_once().is_grasped and hand.stop()


def test_preflight_and_a_policy_session_from_the_cli_through_pylibfranka(tmp_path, capsys):
    address = loopback(52)
    path = franka_launch_file(tmp_path)
    with virtual_controller("franka", address):
        assert main(["preflight", "--launch", path, "--address", address, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["ok"]
        argv = ["launch", "reach the red marker", "--launch", path, "--address", address]
        assert main([*argv, "--yes", "--speed", "1", "--json"]) in (0, 1)
        out = json.loads(capsys.readouterr().out)
        episode = out["results"][0]
        assert out["preflight"]["ok"] and episode["outcome"] == "completed", episode["events"]
        assert 0.9 < episode["timing"]["period_ms"]["median"] < 1.1  # paced by the 1 kHz FCI
        assert read_summary(episode["recording"])["timing"]["period_ms"]["median"] > 0
        home = get_robot("panda").q_home  # the start move returns there first
        with inject_once_moving(address, "reflex", start=home):  # in the policy's episode
            assert main([*argv, "--yes", "--speed", "1", "--json"]) == 1
        episode = json.loads(capsys.readouterr().out)["results"][0]
        assert episode["outcome"] == "stopped"
        assert "franka_reflex" in [e["check"] for e in episode["events"]]
        inject(address, "emergency_stop")  # the user stop: software cannot clear it
        robot = franka.Robot(address, franka.RealtimeConfig.kIgnore)
        assert robot.read_once().robot_mode == franka.RobotMode.UserStopped
        with pytest.raises(franka.CommandException):
            robot.automatic_error_recovery()


def test_a_joint_faster_than_its_limit_trips_a_reflex(panda):
    robot = franka.Robot(panda, franka.RealtimeConfig.kIgnore)
    control = robot.start_torque_control()
    control.readOnce()
    tau = np.zeros(7)
    with pytest.raises(franka.ControlException, match="joint_velocity_violation"):
        for _ in range(3000):  # the wrist's torque ramped at 0.9 Nm/ms up to 3 Nm
            tau[6] = min(tau[6] + 0.9, 3.0)
            control.writeOnce(_torques(tau))
            control.readOnce()
    del control
    robot.automatic_error_recovery()
    assert robot.read_once().robot_mode == franka.RobotMode.Idle


def _velocities(dq) -> franka.JointVelocities:
    return franka.JointVelocities([float(v) for v in dq])


def _stream(control, commands) -> None:
    """Send each (7,) velocity command of ``commands`` in its own period."""
    for dq in commands:
        control.writeOnce(_velocities(dq))
        control.readOnce()


def test_a_joint_velocity_motion_tracks_its_generator_and_finishes_at_rest(panda):
    robot = franka.Robot(panda, franka.RealtimeConfig.kIgnore)
    control = robot.start_joint_velocity_control(franka.ControllerMode.JointImpedance)
    state, _ = control.readOnce()
    q0 = np.array(state.q)
    profile = 0.2 * np.sin(np.pi * np.arange(1, 1001) / 1000) ** 2  # 1 s, 0.1 rad, smooth
    _stream(control, [np.full(7, v) for v in profile])
    state, _ = control.readOnce()
    assert state.robot_mode == franka.RobotMode.Move
    assert np.abs(np.array(state.q) - np.array(state.q_d)).max() < 1e-3  # tracks its generator
    # which integrates the commands (a lost period continues the last one: a little more)
    assert np.allclose(np.array(state.q) - q0, profile.sum() * 1e-3, rtol=0.1)
    finish = _velocities(np.zeros(7))
    finish.motion_finished = True
    control.writeOnce(finish)
    state = robot.read_once()
    assert state.robot_mode == franka.RobotMode.Idle and not state.current_errors


def _towards(control, target, periods: int, *, velocity_limit: np.ndarray) -> np.ndarray:
    """Stream ``periods`` commands towards ``target`` (7,) rad/s, each limited as the backend
    limits it (one period after the generator's signal in the state just read) but to
    ``velocity_limit``; the last command sent."""
    spec = get_robot("panda").spec
    interface = VelocityLimits.for_interface(spec)
    limits = VelocityLimits(velocity_limit, interface.acceleration, interface.jerk)
    state, _ = control.readOnce()
    command = np.zeros(7)
    for _ in range(periods):
        dq_d, ddq_d = np.array(state.dq_d), np.array(state.ddq_d)
        command = limit_velocity(target, dq_d, ddq_d, limits, spec.dt).dq
        control.writeOnce(_velocities(command))
        state, _ = control.readOnce()
    return command


ABOVE = np.full(7, 3.0)  # a velocity bound above every joint's limit


@pytest.mark.parametrize(
    ("target", "periods", "finish", "error"),
    [
        # joint 1 to 2.1 rad/s within the acceleration and jerk limits, then 2.2: past its 2.175
        (np.r_[2.1, np.zeros(6)], 300, False, "joint_motion_generator_velocity_limits_violation"),
        # 0.05 rad/s within 1 ms: 50 rad/s^2, above joint 1's 15 (sent raw)
        (np.r_[0.05, np.zeros(6)], 0, False, "joint_motion_generator_velocity_discontinuity"),
        # 5 mrad/s within 1 ms on joint 2 (raw): 5 rad/s^2 (< 7.5) from rest, 5000 rad/s^3
        (
            np.r_[0, 0.005, np.zeros(5)],
            0,
            False,
            "joint_motion_generator_acceleration_discontinuity",
        ),
        # finished while joint 1 still moves at 0.1 rad/s
        (np.r_[0.1, np.zeros(6)], 200, True, "joint_motion_generator_velocity_discontinuity"),
    ],
    ids=["velocity", "acceleration", "jerk", "finished-moving"],
)
def test_a_velocity_command_beyond_the_limits_trips_the_generator_reflex(
    panda, target, periods, finish, error
):
    robot = franka.Robot(panda, franka.RealtimeConfig.kIgnore)
    control = robot.start_joint_velocity_control(franka.ControllerMode.JointImpedance)
    try:
        with pytest.raises(franka.ControlException, match=error):
            last = _towards(control, target, periods, velocity_limit=ABOVE) if periods else target
            if not periods:
                control.readOnce()
            elif not finish:
                last = last + np.r_[0.1, np.zeros(6)]  # the step past the limit
            command = _velocities(last)
            command.motion_finished = finish
            control.writeOnce(command)
            for _ in range(10):
                control.readOnce()  # the reflex shows at the next read
                control.writeOnce(_velocities(last))
        del control
        errors = robot.read_once().last_motion_errors
        assert getattr(errors, error), str(errors)
    finally:
        robot.automatic_error_recovery()  # the next test starts Idle even when this one failed
    assert robot.read_once().robot_mode == franka.RobotMode.Idle
