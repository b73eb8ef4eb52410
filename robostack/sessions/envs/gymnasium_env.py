"""Gymnasium environments over the tasks: actions are joint-position chunks, run at 1 kHz.

An action is a chunk (Tp, dof + 1): Tp absolute joint-position waypoints 0.1 s apart, rad,
and the gripper width target, m (`robostack.core.types.TrajectoryChunk`). `step` executes the first
Ta waypoints (Ta x 0.1 s of robot time) through the control loop, the safety monitor
included, and returns the observation then. The loop continues across steps (no restart):
each new chunk is blended in from the current reference.

Observation: ``state`` (2 dof + 4,) = q rad, dq rad/s, gripper width m, tool position m
(`robostack.core.observations`); ``environment_state``
= the task's object state, m. Reward 1 on success. ``terminated`` on success or when the
safety monitor holds or stops the arm (``info["outcome"]``); ``truncated`` at the task's
time limit.
"""

from __future__ import annotations

import math
from typing import ClassVar

import gymnasium
import numpy as np
from gymnasium import spaces

from robostack.core.errors import RobostackError
from robostack.core.model import RigidBodyModel
from robostack.core.observations import robot_observation
from robostack.core.robots import get_robot
from robostack.core.types import JointState, TrajectoryChunk
from robostack.runtime.assembly import make_loop
from robostack.sim.mujoco import MujocoRobot, SceneConfig
from robostack.sim.tasks import make_task

CHUNK_DT = 0.1  # s between waypoints (the policy rate)


class _PendingChunk:
    """The loop's chunk source: hands over the current step's action once."""

    def __init__(self, executed: int):
        self.period = executed * CHUNK_DT
        self.pending: TrajectoryChunk | None = None

    def next_chunk(self, state: JointState) -> TrajectoryChunk | None:
        chunk, self.pending = self.pending, None
        return chunk


class TaskEnv(gymnasium.Env):
    """One task on one simulated robot.

    Args:
        task: ``reach``, ``push``, ``pick_place`` or ``obstacle``.
        robot: a robot the task is made for.
        controller: the loop's controller.  horizon: Tp.  executed: Ta.
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(
        self,
        *,
        task: str = "push",
        robot: str = "panda",
        controller: str = "computed_torque",
        horizon: int = 16,
        executed: int = 8,
    ):
        self.task = make_task(task)
        if robot not in self.task.robots:
            raise RobostackError(f"task {task!r} is made for {', '.join(self.task.robots)}")
        if not 1 <= executed <= horizon:
            raise RobostackError(f"need 1 <= executed <= horizon, got {executed}, {horizon}")
        description = get_robot(robot)
        self.sim = MujocoRobot(
            robot=description, scene=SceneConfig(objects=self.task.scene_objects())
        )
        self.sim.connect()
        self._source = _PendingChunk(executed)
        self.loop = make_loop(
            robot=self.sim,
            model=RigidBodyModel(description),
            source=self._source,
            controller=controller,
            realtime=False,
        )
        spec = self.sim.spec
        self.dof, self.horizon, self.executed = spec.dof, horizon, executed
        self._has_gripper = spec.has_gripper
        low = np.append(spec.q_min, 0.0).astype(np.float32)
        high = np.append(spec.q_max, spec.gripper_width_max).astype(np.float32)
        self.action_space = spaces.Box(
            low=np.tile(low, (horizon, 1)), high=np.tile(high, (horizon, 1)), dtype=np.float32
        )
        self.state = self.task.reset(self.sim, self.sim.rng)
        n_env = len(self.task.environment_state(self.sim, self.state))
        self.observation_space = spaces.Dict(
            {
                "state": spaces.Box(-np.inf, np.inf, (2 * self.dof + 4,), np.float32),
                "environment_state": spaces.Box(-np.inf, np.inf, (n_env,), np.float32),
            }
        )
        self.max_steps = math.ceil(self.task.time_limit_s / (executed * CHUNK_DT))
        self._steps, self._fresh = 0, True

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        episode_seed = int(self.np_random.integers(2**31 - 1))
        start = self.sim.reset(seed=episode_seed)
        self.state = self.task.reset(self.sim, self.sim.rng)
        self._steps, self._fresh = 0, True
        return self._observation(start), {"description": self.task.description(self.state)}

    def step(self, action):
        action = np.asarray(action, dtype=float)
        if action.shape != (self.horizon, self.dof + 1):
            raise RobostackError(
                f"action has shape {action.shape}, expected {(self.horizon, self.dof + 1)}"
            )
        now = self.sim.read()
        self._source.pending = TrajectoryChunk(
            t0=now.t,
            dt=CHUNK_DT,
            q=action[:, : self.dof],
            gripper=action[:, self.dof] if self._has_gripper else None,
            obs_time=now.t,
        )
        ticks = round(self.executed * CHUNK_DT * self.sim.spec.control_rate_hz)
        result = self.loop.run(ticks=ticks, fresh=self._fresh)
        self._fresh = False
        self._steps += 1
        success = self.task.success(self.sim, self.state)
        outcome = self.loop.safety.outcome
        terminated = success or outcome != "completed"
        truncated = not terminated and self._steps >= self.max_steps
        info = {
            "success": success,
            "outcome": outcome,
            "events": [e.to_dict() for e in result.events],
            "description": self.task.description(self.state),
        }
        return self._observation(self.sim.read()), float(success), terminated, truncated, info

    def _observation(self, state: JointState) -> dict[str, np.ndarray]:
        return {
            "state": robot_observation(state, self.sim.tool_position()),
            "environment_state": self.task.environment_state(self.sim, self.state).astype(
                np.float32
            ),
        }

    def close(self) -> None:
        self.sim.close()
