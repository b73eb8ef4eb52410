"""Environments over the tasks: gymnasium (`TaskEnv`, registered ids) and dm_env (`DmTaskEnv`).

Importing this module registers ``robostack/PandaReach-v0``, ``robostack/PandaPush-v0``,
``robostack/PandaPickPlace-v0``, ``robostack/PandaObstacle-v0`` and ``robostack/UR5eReach-v0``;
without importing it first, ``gymnasium.make("robostack.sessions.envs:robostack/PandaPush-v0")``
does the import itself.
"""

from __future__ import annotations

import gymnasium

from robostack.sessions.envs.gymnasium_env import TaskEnv

ENV_IDS = {
    "robostack/PandaReach-v0": {"task": "reach", "robot": "panda"},
    "robostack/PandaPush-v0": {"task": "push", "robot": "panda"},
    "robostack/PandaPickPlace-v0": {"task": "pick_place", "robot": "panda"},
    "robostack/PandaObstacle-v0": {"task": "obstacle", "robot": "panda"},
    "robostack/UR5eReach-v0": {"task": "reach", "robot": "ur5e"},
}

for env_id, kwargs in ENV_IDS.items():
    if env_id not in gymnasium.registry:
        gymnasium.register(
            env_id, entry_point="robostack.sessions.envs.gymnasium_env:TaskEnv", kwargs=kwargs
        )


def make_vector_env(env_id: str, num_envs: int) -> gymnasium.vector.SyncVectorEnv:
    """``num_envs`` copies of ``env_id`` stepped together (for evaluation)."""
    return gymnasium.vector.SyncVectorEnv([lambda: gymnasium.make(env_id) for _ in range(num_envs)])


__all__ = ["ENV_IDS", "TaskEnv", "make_vector_env"]
