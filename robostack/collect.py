"""Collecting demonstrations: roll a task's scripted expert and write a LeRobot v3.0 dataset."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from policies.datasets import DatasetWriter
from robostack.episodes import FPS, run_episode
from robostack.errors import RobostackError
from robostack.observations import robot_observation_names
from robostack.paths import DEFAULT_RUNS_DIR
from robostack.robots import get_robot
from sim.tasks import make_task

RECORDED_EPISODES = 2  # the first episodes also leave a Rerun recording


@dataclass(frozen=True)
class CollectReport:
    """What `collect` did: episodes tried and kept, the time it took, the dataset."""

    task: str
    robot: str
    episodes: int
    successes: int
    failed_seeds: list[int]
    wall_s: float
    out: Path
    dataset_bytes: int
    recordings: list[str]

    @property
    def episodes_per_minute(self) -> float:
        return 60.0 * self.episodes / self.wall_s


def collect(
    task_name: str,
    *,
    episodes: int,
    out: Path,
    robot: str = "panda",
    seed: int = 0,
    runs_dir: Path = DEFAULT_RUNS_DIR,
    progress: Callable[[int, int], None] | None = None,
) -> CollectReport:
    """Roll the expert for seeds ``seed .. seed + episodes - 1``; keep the successful episodes.

    Bad input (unknown task or robot, episodes <= 0, a non-empty ``out``) is refused first.
    """
    task = make_task(task_name)
    description = get_robot(robot)
    if episodes <= 0:
        raise RobostackError(f"episodes must be positive, got {episodes}")
    if robot not in task.robots:
        raise RobostackError(
            f"task {task_name!r} is made for {', '.join(task.robots)}, not {robot}"
        )
    dof = description.spec.dof
    joints = list(description.arm_joints)
    writer = DatasetWriter(
        root=out,
        fps=FPS,
        robot_type=robot,
        names={
            "observation.state": robot_observation_names(joints),
            "observation.environment_state": [
                f"env_{i}" for i in range(_env_size(task_name, robot))
            ],
            "action": [f"{j}.pos" for j in joints] + ["gripper.width"],
        },
    )
    assert len(writer.names["action"]) == dof + 1
    start = time.perf_counter()
    failed, recordings = [], []
    for n in range(episodes):
        record = n < RECORDED_EPISODES
        episode = run_episode(
            task_name, robot=robot, seed=seed + n, frames=True, record=record, runs_dir=runs_dir
        )
        if record:
            recordings.append(str(episode.run_dir))
        if episode.success:
            meta = {"robostack/task": task_name, "robostack/seed": seed + n}
            writer.add_episode(episode.frames, episode.description, meta)
        else:
            failed.append(seed + n)
        if progress is not None:
            progress(n + 1, episodes)
    if len(failed) == episodes:
        raise RobostackError(f"the expert failed every episode of {task_name}; nothing written")
    writer.close()
    wall = time.perf_counter() - start
    size = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file())
    return CollectReport(
        task_name,
        robot,
        episodes,
        episodes - len(failed),
        failed,
        wall,
        Path(out),
        size,
        recordings,
    )


def _env_size(task_name: str, robot: str) -> int:
    """Length of the task's environment state (one draw)."""
    from sim.mujoco import MujocoRobot, SceneConfig

    task = make_task(task_name)
    with MujocoRobot(robot=robot, scene=SceneConfig(objects=task.scene_objects())) as sim:
        state = task.reset(sim, sim.rng)
        return len(task.environment_state(sim, state))
