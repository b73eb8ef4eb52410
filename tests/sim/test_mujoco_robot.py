"""The MuJoCo backend: gravity compensation, determinism, and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from robostack.core.errors import LimitError, RobostackError
from robostack.core.robots import get_robot
from robostack.core.types import CommandMode, JointCommand
from robostack.sim.mujoco import MujocoRobot
from tests.conftest import model_of


def test_zero_torque_holds_a_still_arm_still(robot_name):
    """Gravity compensation: the tool drifts < 1 mm over 2 s at zero command."""
    model = model_of(robot_name)
    with MujocoRobot(robot=robot_name) as sim:
        for q0 in (get_robot(robot_name).q_home, None):
            start = sim.reset(q0=q0)
            p0, _ = model.tool_pose(start.q)
            zero = JointCommand.torque(np.zeros(sim.spec.dof))
            for _ in range(2000):
                sim.write(zero)
            end = sim.read()
            assert end.t == pytest.approx(2.0)
            assert np.linalg.norm(model.tool_pose(end.q)[0] - p0) < 1e-3


def test_without_compensation_the_arm_would_fall():
    """The hold above is the compensation's doing: switching gravcomp off drops the arm."""
    with MujocoRobot(robot="panda") as sim:
        sim.model.body_gravcomp[:] = 0.0
        start = sim.reset()
        for _ in range(500):
            sim.write(JointCommand.torque(np.zeros(7)))
        assert np.max(np.abs(sim.read().q - start.q)) > 0.05


def test_reset_is_deterministic_under_a_seed():
    torques = np.random.default_rng(0).normal(0, 2.0, (300, 7))

    def rollout(seed):
        with MujocoRobot(robot="panda") as sim:
            sim.reset(seed=seed)
            for tau in torques:
                sim.write(JointCommand.torque(tau))
            return sim.read()

    a, b = rollout(3), rollout(3)
    assert np.array_equal(a.q, b.q) and np.array_equal(a.dq, b.dq)


def test_state_carries_torques_and_gripper():
    with MujocoRobot(robot="panda") as sim:
        state = sim.read()
        assert state.tau.shape == (7,) and state.tau_ext.shape == (7,)
        assert state.gripper_width == pytest.approx(0.08)  # closing: tests/sim/test_gripper.py


def test_bad_input_is_refused_before_anything_moves():
    sim = MujocoRobot(robot="panda")
    with pytest.raises(RobostackError, match="not connected"):
        sim.read()
    with sim:
        q0 = get_robot("panda").q_home.copy()
        q0[5] = 4.0
        with pytest.raises(LimitError, match="panda_joint6"):
            sim.reset(q0=q0)
        with pytest.raises(RobostackError, match="torque commands only"):
            sim.write(JointCommand(CommandMode.POSITION, np.zeros(7)))
        assert sim.read().t == 0.0
