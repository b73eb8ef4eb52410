"""The rigid-body model: dynamics consistent with MuJoCo's simulation, and IK."""

from __future__ import annotations

import mujoco
import numpy as np

from robostack.core.robots import get_robot
from robostack.sim.mujoco import MujocoRobot
from tests.conftest import model_of


def _random_state(name, seed):
    spec = get_robot(name).spec
    rng = np.random.default_rng(seed)
    return rng.uniform(spec.q_min, spec.q_max), rng.normal(0.0, 1.0, spec.dof)


def test_mass_matrix_is_symmetric_positive_definite(robot_name):
    q, _ = _random_state(robot_name, 1)
    M = model_of(robot_name).mass_matrix(q)
    assert np.allclose(M, M.T)
    assert np.all(np.linalg.eigvalsh(M) > 0)


def test_inverse_dynamics_agrees_with_the_simulator(robot_name):
    """M ddq + C dq from the model equals MuJoCo's mj_inverse on the simulated scene with
    gravity and constraints (contacts, joint stops) switched off, for random states."""
    model = model_of(robot_name)
    with MujocoRobot(robot=robot_name) as sim:
        arm = slice(0, model.dof)
        for seed in range(3):
            q, dq = _random_state(robot_name, seed)
            ddq = np.random.default_rng(seed + 10).normal(0, 2.0, model.dof)
            sim.data.qpos[:], sim.data.qvel[:], sim.data.qacc[:] = 0.0, 0.0, 0.0
            sim.data.qpos[arm], sim.data.qvel[arm] = q, dq  # fingers closed, as in the model
            sim.data.qacc[arm] = ddq
            sim.model.opt.disableflags |= (
                mujoco.mjtDisableBit.mjDSBL_GRAVITY | mujoco.mjtDisableBit.mjDSBL_CONSTRAINT
            )
            mujoco.mj_inverse(sim.model, sim.data)
            without_gravity = sim.data.qfrc_inverse[arm].copy()
            expected = model.mass_matrix(q) @ ddq + model.coriolis(q, dq)
            assert np.allclose(without_gravity, expected, rtol=1e-6, atol=1e-6)


def test_gravity_matches_simulated_gravity_compensation(robot_name):
    model = model_of(robot_name)
    with MujocoRobot(robot=robot_name) as sim:
        q, _ = _random_state(robot_name, 4)
        state = sim.reset(q0=q)
        assert np.allclose(state.tau, model.gravity(q), atol=1e-6)


def test_inverse_kinematics_reaches_a_reachable_pose(robot_name):
    model = model_of(robot_name)
    home = get_robot(robot_name).q_home
    position, rotation = model.tool_pose(home)
    target = position + np.array([0.05, -0.05, 0.05])
    result = model.inverse_kinematics(target, rotation, home)
    assert result.converged
    reached, _ = model.tool_pose(result.q)
    assert np.linalg.norm(reached - target) < 1e-4


def test_inverse_kinematics_reports_an_unreachable_pose():
    model = model_of("panda")
    home = get_robot("panda").q_home
    _, rotation = model.tool_pose(home)
    result = model.inverse_kinematics(np.array([2.0, 0.0, 0.5]), rotation, home, max_iterations=50)
    assert not result.converged and result.position_error > 0.5
