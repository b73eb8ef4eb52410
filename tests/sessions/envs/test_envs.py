"""Gymnasium and dm_env environments over the tasks."""

from __future__ import annotations

import warnings

import dm_env
import gymnasium
import numpy as np
import pytest
from absl.testing import absltest
from dm_env import test_utils
from gymnasium.utils.env_checker import check_env

import robostack.sessions.envs
from robostack.core.model import RigidBodyModel
from robostack.sessions.envs import ENV_IDS, make_vector_env
from robostack.sessions.envs.dm_env_adapter import DmTaskEnv


def _expert_chunks(env):
    """The task's scripted expert, cut into the env's action chunks."""
    unwrapped = env.unwrapped if hasattr(env, "unwrapped") else env
    model = RigidBodyModel(unwrapped.sim.description)
    expert = unwrapped.task.expert(model, unwrapped.sim.description.q_home, unwrapped.state)
    step = 0
    while True:
        t = step * unwrapped.executed * 0.1 + np.arange(unwrapped.horizon) * 0.1
        grippers = expert.grippers(t)
        widths = np.zeros(len(t)) if grippers is None else grippers
        yield np.column_stack([expert.positions(t), widths]).astype(np.float32)
        step += 1


@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
def test_gymnasium_api_checker_passes(env_id):
    env = gymnasium.make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped, skip_render_check=True)
    env.close()
    # the object state alone is unbounded: positions of objects the arm can push anywhere
    messages = [str(w.message) for w in caught]
    assert all("observation space m" in m and "infinity" in m for m in messages), messages
    state = env.observation_space["state"]
    assert np.isfinite(state.low).all() and np.isfinite(state.high).all()
    assert (state.low < state.high).all() and (env.action_space.low < env.action_space.high).all()


@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
@pytest.mark.parametrize("bound", ["low", "high"])
def test_an_action_at_the_bounds_is_stepped_and_held_with_an_event(env_id, bound):
    env = gymnasium.make(env_id)
    env.reset(seed=0)
    action = getattr(env.action_space, bound)
    assert env.action_space.contains(action)
    observation, reward, terminated, _, info = env.step(action)
    assert observation in env.observation_space
    assert terminated and reward == 0.0 and info["outcome"] == "held"
    assert info["events"][0]["check"] == "chunk_jump"  # the limits themselves were accepted
    env.close()


def test_a_chunk_outside_the_limits_on_the_first_step_holds_instead_of_raising():
    env = gymnasium.make("robostack/PandaReach-v0")
    env.reset(seed=0)
    action = np.tile(np.append(env.unwrapped.sim.description.q_home, 0.04), (16, 1))
    action[3, 1] = 1.9  # panda_joint2 stops at 1.7628
    _, _, terminated, _, info = env.step(action.astype(np.float32))
    assert terminated and info["outcome"] == "held"
    assert info["events"][0]["check"] == "chunk_limit"
    env.close()


def test_the_action_bounds_lie_inside_the_joint_limits_in_float64():
    env = gymnasium.make("robostack/UR5eReach-v0")
    spec = env.unwrapped.sim.spec
    assert env.action_space.shape == (16, spec.dof)  # no gripper, no width column
    assert (env.action_space.low.astype(float) >= spec.q_min).all()
    assert (env.action_space.high.astype(float) <= spec.q_max).all()
    assert env.observation_space["state"].shape == (2 * spec.dof + 3,)
    env.close()


def test_make_by_module_path_and_an_expert_driven_episode_succeeds():
    env = gymnasium.make("robostack.sessions.envs:robostack/PandaPush-v0")
    _, info = env.reset(seed=3)
    assert info["description"].startswith("push the ")
    for chunk in _expert_chunks(env):
        _, reward, terminated, truncated, info = env.step(chunk)
        if terminated or truncated:
            break
    assert terminated and reward == 1.0 and info["success"] and info["outcome"] == "completed"
    env.close()


def test_reset_is_deterministic_under_a_seed():
    env = gymnasium.make("robostack/PandaReach-v0")
    a, _ = env.reset(seed=11)
    b, _ = env.reset(seed=11)
    c, _ = env.reset(seed=12)
    assert np.array_equal(a["environment_state"], b["environment_state"])
    assert not np.array_equal(a["environment_state"], c["environment_state"])


def test_a_wild_chunk_ends_the_episode_through_the_safety_monitor():
    env = gymnasium.make("robostack/PandaReach-v0")
    env.reset(seed=0)
    wild = next(_expert_chunks(env)).copy()
    wild[:, 0] += 1.5  # the base joint asked to be 1.5 rad away at once
    _, reward, terminated, _, info = env.step(wild)
    assert terminated and reward == 0.0 and info["outcome"] in ("held", "stopped")
    assert info["events"]


def test_vector_env_steps_several_copies():
    envs = make_vector_env("robostack/PandaReach-v0", 2)
    observations, _ = envs.reset(seed=[1, 2])
    assert observations["state"].shape == (2, 18)  # q, dq, gripper, tool position
    actions = np.stack(
        [np.tile(np.append(robostack.sessions.envs.TaskEnv().sim.description.q_home, 0.0), (16, 1))]
        * 2
    )
    observations, rewards, _, _, _ = envs.step(actions.astype(np.float32))
    assert rewards.shape == (2,) and observations["environment_state"].shape[0] == 2
    envs.close()


def test_dm_env_interface():
    env = DmTaskEnv(task="reach", robot="panda", seed=5)
    assert env.action_spec().shape == (16, 8)
    assert set(env.observation_spec()) == {"state", "environment_state"}
    step = env.reset()
    assert step.step_type == dm_env.StepType.FIRST
    env.observation_spec()["state"].validate(step.observation["state"])
    for chunk in _expert_chunks(env._env):
        step = env.step(chunk)
        if step.last():
            break
    assert step.step_type == dm_env.StepType.LAST and step.reward == 1.0 and step.discount == 0.0


_DM_TASKS = sorted({(kwargs["task"], kwargs["robot"]) for kwargs in ENV_IDS.values()})


def _dm_env_conformance(task: str, robot: str) -> type:
    """dm_env's own conformance tests (`dm_env.test_utils.EnvironmentTestMixin`) on one task;
    its default actions (the action spec's minimum: every joint at its lower limit) are held
    by the safety monitor, which ends each episode, so the end-of-episode contract is checked
    too."""

    class Conformance(test_utils.EnvironmentTestMixin, absltest.TestCase):
        def make_object_under_test(self):
            return DmTaskEnv(task=task, robot=robot, seed=0)

        def make_action_sequence(self):
            for _ in range(3):
                yield self.make_action()

    Conformance.__name__ = Conformance.__qualname__ = f"TestDmEnvConformance_{task}_{robot}"
    return Conformance


for _task, _robot in _DM_TASKS:
    _case = _dm_env_conformance(_task, _robot)
    globals()[_case.__name__] = _case
