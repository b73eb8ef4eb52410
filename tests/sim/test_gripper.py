"""The parallel gripper in both simulators: the Hand's speed, and a grasp that does not kick."""

from __future__ import annotations

import numpy as np
import pytest

from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.core.types import JointCommand
from robostack.runtime.safety import SafetyConfig
from robostack.sim import SIMULATORS, make_simulation
from robostack.sim.scene import CUBE_HALF, GRIPPER_SPEED, TABLE_TOP_Z, Cube
from robostack.sim.tasks.base import solve, tool_down_rotation

PANDA = get_robot("panda")


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_the_fingers_close_at_the_hands_speed(simulator):
    with make_simulation(simulator, robot=PANDA) as sim:
        sim.reset(seed=0)
        hold = JointCommand.torque(np.zeros(7), gripper=0.02)
        for _ in range(200):  # 0.2 s: the target has moved 2 cm
            sim.write(hold)
        assert sim.read().gripper_width == pytest.approx(0.08 - 0.2 * GRIPPER_SPEED, abs=2e-3)
        for _ in range(700):
            sim.write(JointCommand.torque(np.zeros(7)))  # no command: keeps closing
        assert sim.read().gripper_width == pytest.approx(0.02, abs=1e-3)  # and stops there


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_closing_on_an_off_centre_cube_stays_under_the_collision_threshold(simulator):
    """The hand 4 mm off the cube's centre (a policy's grasp), fingers closing: the contact
    must not kick the arm (a slammed finger sank into the cube and tripped the collision
    check on most of a policy's grasps)."""
    cube = Cube("cube", "red")
    model = RigidBodyModel(PANDA)
    with make_simulation(simulator, robot=PANDA, objects=(cube,)) as sim:
        home = sim.reset(seed=0).q
        centre = np.array([0.45, 0.0, TABLE_TOP_Z + CUBE_HALF])
        off_centre = centre + np.array([0.004, 0.003, 0.005])
        grasp = solve(model, off_centre, tool_down_rotation(model), home, "grasp")
        sim.reset(seed=0, q0=grasp)
        sim.place("cube", centre)
        threshold = SafetyConfig.for_robot(PANDA.spec).collision_torque
        worst = np.zeros(7)
        for _ in range(1000):
            sim.write(JointCommand.torque(np.zeros(7), gripper=0.0))
            worst = np.maximum(worst, np.abs(sim.read().tau_ext))
        assert (worst < threshold).all(), worst / threshold
        assert sim.read().gripper_width == pytest.approx(2 * CUBE_HALF, abs=0.015)
