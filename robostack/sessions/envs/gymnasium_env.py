"""Gymnasium environments over the tasks: actions are joint-position chunks, run at 1 kHz.

An action is a chunk (Tp, dof + 1): Tp absolute joint-position waypoints 0.1 s apart, rad,
and the gripper width target, m (`robostack.core.types.TrajectoryChunk`); a robot without a gripper
takes (Tp, dof). Its bounds are the joint limits and the gripper's travel, rounded inwards to
float32, so every action in the space, its bounds included, is inside the limits. `step`
executes the first Ta waypoints (Ta x 0.1 s of robot time) through the control loop, the
safety monitor included, and returns the observation then. The loop runs from `reset` on
and continues across steps: each new chunk is blended in from the current reference, and a
chunk the monitor refuses (outside the limits, not finite, starting far from the arm) HOLDs
the arm with an event in ``info["events"]``; `step` raises only for a chunk of the wrong shape.

Observation: ``state`` (2 dof + 4,) = q rad, dq rad/s, gripper width m, tool position m
(`robostack.core.observations`; (2 dof + 3,) without the width on a robot without a
gripper), bounded by the joint and velocity limits, the gripper's travel and the arm's reach
(a reading past a limit, which the monitor answers by holding or stopping the arm, reads as
the limit); ``environment_state`` = the task's object state, m, unbounded. Reward 1 on
success. ``terminated`` on success or when the safety monitor holds or stops the arm
(``info["outcome"]``); ``truncated`` at the task's time limit.
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
        low, high = spec.q_min, spec.q_max
        if spec.has_gripper:
            low, high = np.append(low, 0.0), np.append(high, spec.gripper_width_max)
        low, high = _float32_inside(low, high)
        self.action_space = spaces.Box(
            low=np.tile(low, (horizon, 1)), high=np.tile(high, (horizon, 1)), dtype=np.float32
        )
        self._state_slots, state_low, state_high = self._state_bounds()
        self.state = self.task.reset(self.sim, self.sim.rng)
        n_env = len(self.task.environment_state(self.sim, self.state))
        self.observation_space = spaces.Dict(
            {
                "state": spaces.Box(state_low, state_high, dtype=np.float32),
                "environment_state": spaces.Box(-np.inf, np.inf, (n_env,), np.float32),
            }
        )
        self.max_steps = math.ceil(self.task.time_limit_s / (executed * CHUNK_DT))
        self._steps = 0
        self._start()

    def _state_bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The entries of `robot_observation` the state keeps and their float32 bounds: joint
        limits rad, velocity limits rad/s, gripper travel m, and the arm's reach m (the
        summed lengths of the links from the world to the tool, a bound on |tool position|)."""
        spec, model = self.sim.spec, self.sim.model
        reach, body = 0.0, model.body(self.sim.description.tool_link).id
        while body != 0:
            reach += float(np.linalg.norm(model.body_pos[body]))
            body = model.body_parentid[body]
        width = [0.0, spec.gripper_width_max]
        bounds = np.column_stack(
            [
                np.concatenate([spec.q_min, -spec.dq_max, width[:1], [-reach] * 3]),
                np.concatenate([spec.q_max, spec.dq_max, width[1:], [reach] * 3]),
            ]
        )
        slots = np.arange(len(bounds))
        if not spec.has_gripper:
            slots = slots[slots != 2 * spec.dof]  # no width to bound: the entry is dropped
        return slots, bounds[slots, 0].astype(np.float32), bounds[slots, 1].astype(np.float32)

    def _start(self) -> None:
        """Start the loop from rest where the arm stands (one tick holding it), so that every
        chunk a step brings passes the safety monitor's chunk checks."""
        now = self.sim.read()
        gripper = None
        if self._has_gripper:  # the width it holds, within the travel the monitor accepts
            width = np.clip(now.gripper_width, 0.0, self.sim.spec.gripper_width_max)
            gripper = np.full(self.horizon, width)
        self._source.pending = TrajectoryChunk(
            t0=now.t,
            dt=CHUNK_DT,
            q=np.tile(now.q, (self.horizon, 1)),
            gripper=gripper,
            obs_time=now.t,
        )
        self.loop.run(ticks=1, fresh=True)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        episode_seed = int(self.np_random.integers(2**31 - 1))
        self.sim.reset(seed=episode_seed)
        self.state = self.task.reset(self.sim, self.sim.rng)
        self._steps = 0
        self._start()
        return self._observation(self.sim.read()), {
            "description": self.task.description(self.state)
        }

    def step(self, action):
        action = np.asarray(action, dtype=float)
        expected = self.action_space.shape
        if action.shape != expected:
            raise RobostackError(f"action has shape {action.shape}, expected {expected}")
        now = self.sim.read()
        self._source.pending = TrajectoryChunk(
            t0=now.t,
            dt=CHUNK_DT,
            q=action[:, : self.dof],
            gripper=action[:, self.dof] if self._has_gripper else None,
            obs_time=now.t,
        )
        ticks = round(self.executed * CHUNK_DT * self.sim.spec.control_rate_hz)
        result = self.loop.run(ticks=ticks, fresh=False)
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
        box = self.observation_space["state"]
        robot = robot_observation(state, self.sim.tool_position())[self._state_slots]
        return {
            "state": np.clip(robot, box.low, box.high),
            "environment_state": self.task.environment_state(self.sim, self.state).astype(
                np.float32
            ),
        }

    def close(self) -> None:
        self.sim.close()


def _float32_inside(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 bounds that lie inside [low, high] (float64): a bound that rounds outwards
    moves one float32 step in."""
    low32, high32 = low.astype(np.float32), high.astype(np.float32)
    low32 = np.where(low32 < low, np.nextafter(low32, np.float32(np.inf)), low32)
    high32 = np.where(high32 > high, np.nextafter(high32, np.float32(-np.inf)), high32)
    return low32, high32
