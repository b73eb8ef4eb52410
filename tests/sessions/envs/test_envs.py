"""Gymnasium and dm_env environments over the tasks."""

from __future__ import annotations

import dm_env
import gymnasium
import numpy as np
import pytest
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
    check_env(env.unwrapped, skip_render_check=True)
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
