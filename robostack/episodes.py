"""Task episodes: a task's scene and seeded draw, a chunk source, the loop, success.

`run_episode` runs one episode of a task on a simulated robot with its scripted expert as
the chunk source (the DiT policy will be the other source), through the same loop, safety
monitor and recorder as every session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robostack.errors import RobostackError
from robostack.loop import ChunkSource, LoopResult
from robostack.model import RigidBodyModel
from robostack.paths import DEFAULT_RUNS_DIR
from robostack.references import ReferenceChunker, check_reference
from robostack.robots import get_robot
from robostack.session import make_loop, recording
from sim.mujoco import MujocoRobot, SceneConfig
from sim.tasks import make_task

FPS = 10  # frames per second of recorded episodes: the policy rate
SETTLE_S = 0.5  # the expert's reference ends, the arm settles, then success is judged


@dataclass(frozen=True)
class EpisodeResult:
    """One episode: what was asked, whether it was achieved, how the loop went.

    Attributes:
        task, robot, seed: the episode's identity.  description: the task sentence.
        choices: the expert's random choices (e.g. which way round the obstacle).
        success: the task's predicate at the end of the episode.
        duration_s: robot time, s.  result: the loop's measurements and safety events.
        run_dir: the recording, or None.
        frames: with ``frames=True``, per-frame arrays at `FPS`: ``observation.state``
            (T, 2 dof + 1) = q rad, dq rad/s, gripper width m; ``observation.environment_state``
            (T, n) = the task's object state, m; ``action`` (T, dof + 1) = the joint target one
            frame ahead, rad, and the gripper target, m; ``timestamp`` (T,) s.
    """

    task: str
    robot: str
    seed: int
    description: str
    choices: dict[str, str]
    success: bool
    duration_s: float
    result: LoopResult
    run_dir: Path | None
    frames: dict[str, np.ndarray] | None = None


def run_episode(
    task_name: str,
    *,
    robot: str = "panda",
    seed: int = 0,
    controller: str = "computed_torque",
    record: bool = False,
    runs_dir: Path = DEFAULT_RUNS_DIR,
    frames: bool = False,
    source: Callable[[np.ndarray, float], ChunkSource] | None = None,
) -> EpisodeResult:
    """Run one lockstep episode of ``task_name`` with its scripted expert.

    With ``frames``, the episode is also sampled at `FPS` for a dataset (`EpisodeResult`).
    ``source(q_start, t0)`` replaces the expert as the chunk source (replays, policies); the
    episode then lasts the task's time limit unless the expert's plan is shorter."""
    task = make_task(task_name)
    description = get_robot(robot)
    if robot not in task.robots:
        raise RobostackError(
            f"task {task_name!r} is made for {', '.join(task.robots)}, not {robot}"
        )
    sim = MujocoRobot(robot=description, scene=SceneConfig(decorators=(task.decorate,)))
    model = RigidBodyModel(description)
    with sim:
        start = sim.reset(seed=seed)
        state = task.reset(sim, sim.rng)
        expert = task.expert(model, start.q, state)
        check_reference(expert, description)
        loop = make_loop(
            robot=sim,
            model=model,
            source=ReferenceChunker(expert, t_offset=start.t)
            if source is None
            else source(start.q, start.t),
            controller=controller,
            realtime=False,
        )
        ticks = round(min(expert.duration + SETTLE_S, task.time_limit_s) * sim.spec.control_rate_hz)
        name = f"{task_name}-{robot}-seed{seed}"
        sampler = _FrameSampler(task, sim, state, expert, start.t) if frames else None
        run = {"ticks": ticks, "on_tick": sampler, "every": round(sim.spec.control_rate_hz / FPS)}
        if record:
            with recording(loop, runs_dir=runs_dir, name=name, description=description) as rec:
                result = loop.run(**run)
                success = result.outcome == "completed" and task.success(sim, state)
                rec.summary = _summary(
                    task_name, robot, seed, task.description(state), success, result
                )
            run_dir = rec.run_dir
        else:
            result = loop.run(**run)
            success = result.outcome == "completed" and task.success(sim, state)
            run_dir = None
    return EpisodeResult(
        task=task_name,
        robot=robot,
        seed=seed,
        description=task.description(state),
        choices=dict(state.choices),
        success=success,
        duration_s=result.duration,
        result=result,
        run_dir=run_dir,
        frames=None if sampler is None else sampler.arrays(),
    )


class _FrameSampler:
    """Collects one dataset frame per call (the loop calls it every 1 / FPS s)."""

    def __init__(self, task, sim: MujocoRobot, state, expert, t0: float):
        self.task, self.sim, self.state, self.expert, self.t0 = task, sim, state, expert, t0
        keys = ("observation.state", "observation.environment_state", "action", "timestamp")
        self.rows: dict[str, list] = {k: [] for k in keys}

    def __call__(self, tick, joint_state, reference) -> bool:
        t = joint_state.t - self.t0
        width = joint_state.gripper_width or 0.0
        ahead = np.array([t + 1.0 / FPS])
        grippers = self.expert.grippers(ahead)
        target_width = 0.0 if grippers is None else grippers[0]
        self.rows["observation.state"].append(
            np.concatenate([joint_state.q, joint_state.dq, [width]])
        )
        self.rows["observation.environment_state"].append(
            self.task.environment_state(self.sim, self.state)
        )
        self.rows["action"].append(
            np.concatenate([self.expert.positions(ahead)[0], [target_width]])
        )
        self.rows["timestamp"].append(t)
        return False

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v, dtype=np.float32) for k, v in self.rows.items()}


def _summary(task, robot, seed, description, success, result: LoopResult) -> dict:
    return {
        "task": task,
        "robot": robot,
        "seed": seed,
        "description": description,
        "success": success,
        "outcome": result.outcome,
        "ticks": result.ticks,
        "events": [e.to_dict() for e in result.events],
        "rms_error_rad": np.asarray(result.error_rms).tolist(),
    }
