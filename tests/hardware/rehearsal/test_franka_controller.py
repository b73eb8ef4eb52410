"""The unmodified pylibfranka client against the virtual Franka controller (its own process)
on loopback: the FCI calls, a torque discontinuity tripping a reflex as on the arm, the Hand,
the Hand grasping a cube and closing on nothing (alone and in a recorded session through the
backend), then the real-robot session path from the CLI (the start move and the episode in one
recording), a reflex injected mid-episode, the user stop, a reflex during the start move."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pylibfranka as franka
import pytest

from robostack.cli.main import main
from robostack.controllers.rate_limit import VelocityLimits, limit_velocity
from robostack.core.errors import SessionFailedError
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.hardware.franka import FrankaConfig, FrankaRobot
from robostack.hardware.franka.hand_process import HandProcess
from robostack.hardware.rehearsal.virtual.fci import STATE
from robostack.hardware.rehearsal.virtual.process import inject
from robostack.runtime.recording import EVENTS, RRD
from robostack.runtime.recording.reader import joint_signal, text_log
from robostack.sessions.episodes import EpisodeSpec, run_robot_episode
from tests.conftest import in_background, loopback
from tests.hardware.helpers import (
    checks,
    close_the_hand,
    loaded_overrides,
    read_summary,
)
from tests.hardware.rehearsal.helpers import (
    franka_launch_file,
    inject_once_moving,
    virtual_franka,
)

ADDRESS = loopback(51)
CUBE_EDGE = 0.05  # m
LET_GO_AFTER_S = 0.5  # the session has read the grasp back by then


@pytest.fixture  # one virtual controller at a time: each spins a 1 kHz clock
def panda():
    with virtual_franka(ADDRESS):
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


def test_the_hand_moves_homes_and_a_grasp_on_nothing_closes_fully_and_fails(panda):
    hand = franka.Gripper(panda)
    state = hand.read_once()
    assert state.max_width == pytest.approx(0.08) and state.width == pytest.approx(0.08, abs=1e-3)
    assert hand.move(0.02, 0.05) and hand.read_once().width == pytest.approx(0.02, abs=2e-3)
    assert hand.homing() and hand.read_once().width == pytest.approx(0.08, abs=2e-3)
    assert not hand.grasp(0.03, 0.05, 20.0, 0.005, 0.005)  # the fingers closed on nothing
    state = hand.read_once()
    assert not state.is_grasped and state.width < 1e-3 and hand.stop()  # to the minimum width


@pytest.fixture
def panda_over_a_cube():
    """A virtual Franka posed over a 5 cm cube standing between the Hand's open fingers."""
    address = loopback(53)
    with virtual_franka(address, extra=("--cube", str(CUBE_EDGE))):
        yield address


def test_the_hand_grasps_a_cube_between_its_fingers_and_stops_at_its_width(panda_over_a_cube):
    hand = franka.Gripper(panda_over_a_cube)
    assert not hand.move(0.03, 0.05)  # a move cannot pass the cube: unsuccessful
    assert hand.read_once().width == pytest.approx(CUBE_EDGE, abs=1e-3)
    assert hand.homing()
    assert hand.grasp(CUBE_EDGE, 0.05, 40.0, 0.005, 0.005)
    state = hand.read_once()
    assert state.is_grasped and state.width == pytest.approx(CUBE_EDGE, abs=1e-3)
    assert hand.move(0.08, 0.1) and not hand.read_once().is_grasped  # let go


def _close_the_hand(address: str, runs_dir):
    """`close_the_hand` through the backend (pylibfranka, the Hand in its own process): the
    loop's result, the recording, and the width the fingers stand at, m."""
    with FrankaRobot(address=address, config=FrankaConfig(realtime="ignore")) as robot:
        result, run_dir = close_the_hand(robot, runs_dir=runs_dir)
        return result, run_dir, robot.read().gripper_width


def test_a_session_closing_the_hand_on_a_cube_holds_it(panda_over_a_cube, tmp_path):
    result, run_dir, width = _close_the_hand(panda_over_a_cube, tmp_path)
    assert result.outcome == "completed", result.events
    assert width == pytest.approx(CUBE_EDGE, abs=1e-3)
    assert (run_dir / EVENTS).read_text() == ""


def test_a_session_whose_grasped_cube_is_let_go_records_the_lost_grasp(panda_over_a_cube, tmp_path):
    def open_once_grasped(done) -> None:
        other = HandProcess(panda_over_a_cube)  # another client, in a process of its own
        try:
            while not done.wait(0.05):
                if other.read_once().is_grasped and not done.wait(LET_GO_AFTER_S):
                    other.move(0.08, 0.1)  # aborted when the session ends and stops the Hand
                    return
        except RuntimeError:
            pass
        finally:
            other.stop()

    with in_background(open_once_grasped):
        result, run_dir, _ = _close_the_hand(panda_over_a_cube, tmp_path)
    assert result.outcome == "held" and checks(result) == ["grasp_lost"]
    assert "grasp_lost" in (run_dir / EVENTS).read_text()


def test_a_session_closing_the_hand_on_nothing_records_the_failed_grasp(panda, tmp_path):
    result, run_dir, width = _close_the_hand(panda, tmp_path)
    assert width < 1e-3
    assert result.outcome == "held" and checks(result) == ["grasp_failed"]  # the arm HOLDs
    events = [json.loads(line) for line in (run_dir / EVENTS).read_text().splitlines()]
    assert [(e["check"], e["reaction"]) for e in events] == [("grasp_failed", "HOLD")]
    assert read_summary(run_dir)["outcome"] == "held"
    assert any("grasp_failed" in text for _, _, text in text_log(run_dir / RRD))


def test_preflight_and_a_policy_session_from_the_cli_through_pylibfranka(tmp_path, capsys):
    address = loopback(52)
    path = franka_launch_file(tmp_path)
    with virtual_franka(address):
        assert main(["preflight", "--launch", path, "--address", address, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["ok"]
        argv = ["launch", "reach the red marker", "--launch", path, "--address", address]
        assert main([*argv, "--yes", "--speed", "1", "--json"]) in (0, 1)
        out = json.loads(capsys.readouterr().out)
        episode = out["results"][0]
        assert out["preflight"]["ok"] and episode["outcome"] == "completed", episode["events"]
        assert 0.9 < episode["timing"]["period_ms"]["median"] < 1.1  # paced by the 1 kHz FCI
        _assert_one_recording_of_start_move_then_episode(Path(episode["recording"]))
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


def _assert_one_recording_of_start_move_then_episode(run: Path) -> None:
    summary = read_summary(run)
    assert summary["timing"]["period_ms"]["median"] > 0
    start_move = summary["start_move"]
    assert start_move["outcome"] == "completed" and start_move["error_rad"] < 0.01
    ticks, _ = joint_signal(run / RRD, "q")  # one tick count across both segments
    assert summary["dropped_ticks"] == 0 and np.array_equal(ticks, np.arange(ticks.size))
    assert ticks.size == start_move["ticks"] + summary["ticks"]
    phases = [(tick, text) for tick, _, text in text_log(run / RRD, "/phase")]
    assert phases == [(0, "start_move"), (start_move["ticks"], "episode")]


def test_a_start_move_tripping_the_monitor_leaves_its_events_and_a_whole_recording(tmp_path):
    address = loopback(54)
    spec = EpisodeSpec(task="reach", seed=3, controller="impedance", record=True, runs_dir=tmp_path)
    with virtual_franka(address):
        config = FrankaConfig(realtime="ignore", gripper=False)
        with FrankaRobot(address=address, config=config) as robot:
            spec = dataclasses.replace(spec, safety=loaded_overrides(robot))
            q_start = robot.read().q + np.eye(7)[0] * 0.3  # somewhere to go
            with (
                inject_once_moving(address, "reflex"),
                pytest.raises(SessionFailedError, match=r"start move ended stopped.*franka_reflex"),
            ):
                run_robot_episode(spec, robot, q_start=q_start)
    (run,) = tmp_path.iterdir()
    summary = read_summary(run)
    assert summary["outcome"] == "error" and "SessionFailedError" in summary["error"]
    start_move = summary["start_move"]
    assert start_move["outcome"] == "stopped" and start_move["error_rad"] > 0.05
    assert "franka_reflex" in [e["check"] for e in start_move["events"]]
    events = [json.loads(line) for line in (run / EVENTS).read_text().splitlines()]
    assert [e["check"] for e in events] == [e["check"] for e in start_move["events"]]
    assert {e["phase"] for e in events} == {"start_move"}
    ticks, _ = joint_signal(run / RRD, "q")  # every tick of the move, read back
    assert summary["dropped_ticks"] == 0 and ticks.size == start_move["ticks"] > 0
    assert [text for _, _, text in text_log(run / RRD, "/phase")] == ["start_move"]
    assert any(
        "[start_move]" in text and "franka_reflex" in text for _, _, text in text_log(run / RRD)
    )


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
    q0, t0 = np.array(state.q), state.time.to_sec()
    profile = 0.2 * np.sin(np.pi * np.arange(1, 1001) / 1000) ** 2  # 1 s, 0.1 rad, smooth
    _stream(control, [np.full(7, v) for v in profile])
    state, _ = control.readOnce()
    assert state.robot_mode == franka.RobotMode.Move
    assert np.abs(np.array(state.q) - np.array(state.q_d)).max() < 1e-3  # tracks its generator
    # which integrates the commands: each period the controller ran without one (a client late
    # on a busy machine) continues the last command, at most 0.2 rad/s for 1 ms, a little more
    moved = np.array(state.q) - q0
    lost = round((state.time.to_sec() - t0) * 1000) - profile.size - 1
    assert np.ptp(moved) < 1e-3  # every joint the same commands
    assert profile.sum() * 1e-3 * 0.95 < moved.min()
    assert moved.max() < profile.sum() * 1e-3 * 1.05 + max(lost, 0) * 0.2e-3
    finish = _velocities(np.zeros(7))
    finish.motion_finished = True
    control.writeOnce(finish)
    state = robot.read_once()
    assert state.robot_mode == franka.RobotMode.Idle and not state.current_errors


def _towards(control, target, periods: int, *, velocity_limit: np.ndarray) -> np.ndarray:
    """Stream ``periods`` commands towards ``target`` (7,) rad/s, each limited as the backend
    limits it (one period after the command before it) but to ``velocity_limit``; the last
    command sent."""
    spec = get_robot("panda").spec
    interface = VelocityLimits.for_interface(spec)
    limits = VelocityLimits(velocity_limit, interface.acceleration, interface.jerk)
    control.readOnce()
    command, acceleration = np.zeros(7), np.zeros(7)
    for _ in range(periods):
        step = limit_velocity(target, command, acceleration, limits, spec.dt)
        command, acceleration = step.dq, step.ddq
        control.writeOnce(_velocities(command))
        control.readOnce()
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
