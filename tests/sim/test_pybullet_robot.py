"""The PyBullet backend: gravity compensation, contact torques, scene objects, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from robostack.core.errors import RobostackError
from robostack.core.types import CommandMode, JointCommand
from robostack.sim.pybullet import PybulletRobot
from robostack.sim.scene import CUBE_HALF, TABLE_TOP_Z, Cube, Fixture, Marker
from tests.conftest import model_of


def test_zero_torque_holds_a_still_arm_still(robot_name):
    """Gravity compensation: the tool drifts < 1 mm over 2 s at zero command."""
    model = model_of(robot_name)
    with PybulletRobot(robot=robot_name) as sim:
        start = sim.read()
        p0, _ = model.tool_pose(start.q)
        for _ in range(2000):
            sim.write(JointCommand.torque(np.zeros(sim.spec.dof)))
        end = sim.read()
        assert end.t == pytest.approx(2.0)
        assert np.linalg.norm(model.tool_pose(end.q)[0] - p0) < 1e-3
        assert np.linalg.norm(sim.tool_position() - model.tool_pose(end.q)[0]) < 1e-6


def test_runs_are_deterministic_and_commands_are_torques():
    torques = np.random.default_rng(0).normal(0, 2.0, (300, 7))

    def rollout():
        with PybulletRobot(robot="panda") as sim:
            sim.reset(seed=3)
            for tau in torques:
                sim.write(JointCommand.torque(tau))
            return sim.read()

    a, b = rollout(), rollout()
    assert np.array_equal(a.q, b.q) and np.array_equal(a.dq, b.dq)
    with PybulletRobot(robot="panda") as sim, pytest.raises(RobostackError, match="torque"):
        sim.write(JointCommand(CommandMode.POSITION, np.zeros(7)))
    with pytest.raises(RobostackError, match="not connected"):
        PybulletRobot(robot="panda").read()


def test_contact_forces_on_the_arm_become_external_joint_torques():
    wall = Fixture("wall", "grey", boxes=(((0.0, 0.0, 0.0), (0.05, 0.05, 0.05)),))
    with PybulletRobot(robot="panda", objects=(wall,)) as sim:
        free = sim.read()
        assert np.allclose(free.tau_ext, 0.0)
        sim.place("wall", sim.tool_position() + np.array([0.0, 0.0, 0.07]))  # on the hand
        sim.write(JointCommand.torque(np.zeros(7)))
        pressed = sim.read()
        assert np.abs(pressed.tau_ext).max() > 1.0  # Nm: what the collision check reads


def test_scene_objects_are_placed_read_back_and_recoloured():
    objects = (
        Cube("cube_red", "red"),
        Marker("marker", "blue", "sphere", (0.015,)),
        Fixture("bin", "brown", boxes=(((0.0, 0.0, 0.01), (0.05, 0.05, 0.01)),)),
    )
    with PybulletRobot(robot="panda", objects=objects) as sim:
        on_table = np.array([0.5, 0.1, TABLE_TOP_Z + CUBE_HALF])
        sim.place("cube_red", on_table)
        sim.place("marker", np.array([0.4, -0.2, 0.3]))
        sim.place("bin", np.array([0.6, -0.2, TABLE_TOP_Z]))
        sim.recolour("marker", "red")
        for _ in range(200):  # the cube rests on the table; the marker floats, touching nothing
            sim.write(JointCommand.torque(np.zeros(7)))
        assert np.allclose(sim.position("cube_red"), on_table, atol=2e-3)
        assert np.allclose(sim.position("marker"), [0.4, -0.2, 0.3])
        assert np.allclose(sim.position("bin"), [0.6, -0.2, TABLE_TOP_Z])
        with pytest.raises(RobostackError, match="no scene object 'banana'"):
            sim.position("banana")
