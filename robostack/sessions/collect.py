"""Collecting demonstrations: roll a task's scripted expert and write a LeRobot v3.0 dataset."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robostack.core.errors import RobostackError
from robostack.core.observations import robot_observation_names
from robostack.core.paths import DEFAULT_RUNS_DIR
from robostack.core.robots import get_robot
from robostack.policies.datasets import DatasetWriter
from robostack.sessions.distributed import RayCluster
from robostack.sessions.episodes import FPS, EpisodeSpec, run_episode
from robostack.sim.cameras import Camera
from robostack.sim.tasks import make_task

RECORDED_EPISODES = 2  # the first episodes also leave a Rerun recording
MAX_START_SPREAD = 0.5  # rad: `EpisodeSpec.start_spread` keeps every start near home


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
    cluster: RayCluster | None = None,
    cameras: tuple[Camera, ...] = (),
    start_spread: float = 0.0,
) -> CollectReport:
    """Roll the expert for seeds ``seed .. seed + episodes - 1``; keep the successful episodes.
    Each of ``cameras`` is rendered at `FPS` and written as a video feature
    ``observation.images.<name>``. ``start_spread``, rad: each episode starts that far from
    home at most, per joint (`EpisodeSpec.start_spread`), so that where the arm is does not
    tell where it is going.

    Bad input (unknown task or robot, episodes <= 0, a spread outside [0, `MAX_START_SPREAD`],
    a non-empty ``out``) is refused first.
    With a ``cluster`` the episodes run on its workers (`robostack.sessions.distributed`) and come
    back in seed order: the dataset is the one a single process writes.
    """
    task = make_task(task_name)
    description = get_robot(robot)
    if episodes <= 0:
        raise RobostackError(f"episodes must be positive, got {episodes}")
    if robot not in task.robots:
        raise RobostackError(
            f"task {task_name!r} is made for {', '.join(task.robots)}, not {robot}"
        )
    if not 0.0 <= start_spread <= MAX_START_SPREAD:
        raise RobostackError(
            f"the start spread must be in [0, {MAX_START_SPREAD}] rad, got {start_spread:g}"
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
    seeds = list(range(seed, seed + episodes))
    payload = (
        task_name,
        robot,
        seeds[:RECORDED_EPISODES],
        runs_dir,
        tuple(cameras),
        start_spread,
    )
    if cluster is None:
        rolled = (_expert_episodes(payload, [s])[0] for s in seeds)
    else:
        batch = max(1, math.ceil(episodes / (4 * cluster.size)))  # small tasks: cheap retries
        rolled = cluster.map(_expert_episodes, payload, seeds, batch=batch)
    for n, episode in enumerate(rolled):
        if episode.run_dir is not None:
            recordings.append(episode.run_dir)
        if episode.success:
            meta = {"robostack/task": task_name, "robostack/seed": episode.seed}
            writer.add_episode(episode.frames, episode.description, meta)
        else:
            failed.append(episode.seed)
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


@dataclass(frozen=True)
class ExpertEpisode:
    """One expert episode as the dataset needs it (picklable: Ray workers send it back)."""

    seed: int
    success: bool
    description: str
    frames: dict[str, np.ndarray]
    run_dir: str | None


def _expert_episodes(payload: tuple, seeds: list[int]) -> list[ExpertEpisode]:
    """The expert's episodes for ``seeds`` (recorded if among the payload's recorded seeds)."""
    task_name, robot, recorded, runs_dir, cameras, start_spread = payload
    out = []
    for s in seeds:
        spec = EpisodeSpec(
            task=task_name,
            robot=robot,
            seed=s,
            record=s in recorded,
            runs_dir=runs_dir,
            start_spread=start_spread,
        )
        episode = run_episode(spec, frames=True, cameras=cameras)
        run_dir = None if episode.run_dir is None else str(episode.run_dir)
        out.append(
            ExpertEpisode(s, bool(episode.success), episode.description, episode.frames, run_dir)
        )
    return out


def _env_size(task_name: str, robot: str) -> int:
    """Length of the task's environment state (one draw)."""
    from robostack.sim.mujoco import MujocoRobot, SceneConfig

    task = make_task(task_name)
    with MujocoRobot(robot=robot, scene=SceneConfig(objects=task.scene_objects())) as sim:
        state = task.reset(sim, sim.rng)
        return len(task.environment_state(sim, state))
