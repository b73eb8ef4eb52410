"""The same tasks through dm_env, the environment interface of DeepMind's dm_control."""

from __future__ import annotations

import dm_env
import numpy as np
from dm_env import specs

from robostack.sessions.envs.gymnasium_env import TaskEnv


class DmTaskEnv(dm_env.Environment):
    """`TaskEnv` as a `dm_env.Environment`: TimeStep, observation_spec, action_spec.

    Args:
        seed: the first episode's seed; each reset takes the next one.
        **kwargs: `TaskEnv`'s arguments (task, robot, controller, horizon, executed).
    """

    def __init__(self, *, seed: int = 0, **kwargs):
        self._env = TaskEnv(**kwargs)
        self._seed = seed
        self._done = True

    def reset(self) -> dm_env.TimeStep:
        observation, _ = self._env.reset(seed=self._seed)
        self._seed += 1
        self._done = False
        return dm_env.restart(observation)

    def step(self, action) -> dm_env.TimeStep:
        if self._done:
            return self.reset()
        observation, reward, terminated, truncated, _ = self._env.step(action)
        self._done = terminated or truncated
        if terminated:
            return dm_env.termination(reward, observation)
        if truncated:
            return dm_env.truncation(reward, observation)
        return dm_env.transition(reward, observation)

    def observation_spec(self) -> dict[str, specs.BoundedArray]:
        """The observation space's boxes (``environment_state``'s bounds are infinite)."""
        return {
            name: specs.BoundedArray(
                shape=box.shape, dtype=np.float32, minimum=box.low, maximum=box.high, name=name
            )
            for name, box in self._env.observation_space.spaces.items()
        }

    def action_spec(self) -> specs.BoundedArray:
        """The action space's box: every value inside it, bounds included, is accepted."""
        box = self._env.action_space
        return specs.BoundedArray(
            shape=box.shape, dtype=np.float32, minimum=box.low, maximum=box.high, name="chunk"
        )

    def close(self) -> None:
        self._env.close()
