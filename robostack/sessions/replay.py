"""Replaying a dataset episode: its recorded actions, as chunks, through the loop again.

The episode's scene is redrawn from its seed (``robostack/seed`` in the episodes table), and
its actions (the joint and gripper targets one frame ahead, at the dataset's fps) are cut
into the same chunks the expert sent: a replay that reproduces the success checks that the
actions, not the expert, carry the demonstration.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robostack.core.errors import RobostackError, ShapeError
from robostack.core.paths import DEFAULT_RUNS_DIR
from robostack.core.robots import get_robot
from robostack.core.types import JointState, RobotSpec, TrajectoryChunk
from robostack.policies.datasets import read_dataset
from robostack.sessions.episodes import EpisodeResult, EpisodeSpec, run_episode


class ActionReplay:
    """A chunk source playing back ``actions`` (T, dof + 1) recorded at ``fps`` from ``t0``.

    The chunk at frame k holds the targets of frames k-1 .. k+Tp-2 (``q_start`` before the
    first), i.e. the waypoints at t_k, t_k + dt, ...; past the end, the last target holds.
    """

    def __init__(
        self,
        actions: np.ndarray,
        q_start: np.ndarray,
        *,
        fps: int,
        t0: float,
        horizon: int = 16,
        executed: int = 8,
    ):
        self.table = np.vstack([np.append(q_start, actions[0, -1]), actions])
        self.fps, self.t0, self.horizon = fps, t0, horizon
        self.period = executed / fps

    def next_chunk(self, state: JointState) -> TrajectoryChunk:
        k = round((state.t - self.t0) * self.fps)
        rows = np.clip(np.arange(k, k + self.horizon), 0, len(self.table) - 1)
        block = self.table[rows]
        return TrajectoryChunk(
            t0=state.t, dt=1.0 / self.fps, q=block[:, :-1], gripper=block[:, -1], obs_time=state.t
        )


def replay(
    dataset_dir: Path, *, episode: int, record: bool = True, runs_dir: Path = DEFAULT_RUNS_DIR
) -> EpisodeResult:
    """Replay episode ``episode`` of a dataset written by `robostack collect`."""
    dataset = read_dataset(dataset_dir)
    if not 0 <= episode < len(dataset.episodes):
        raise RobostackError(
            f"episode {episode} is not in the dataset (0..{len(dataset.episodes) - 1})"
        )
    meta = dataset.episode_meta[episode]
    missing = [key for key in ("robostack/seed", "robostack/task") if key not in meta]
    if missing:
        raise RobostackError(
            f"this dataset has no {' or '.join(missing)} per episode: its scenes cannot be redrawn"
        )
    actions = dataset.episode(episode)["action"].astype(float)
    check_actions(actions, get_robot(dataset.info["robot_type"]).spec)
    spec = EpisodeSpec(
        task=meta["robostack/task"],
        robot=dataset.info["robot_type"],
        seed=int(meta["robostack/seed"]),
        record=record,
        runs_dir=runs_dir,
    )
    return run_episode(
        spec, source=lambda c: ActionReplay(actions, c.q_start, fps=dataset.fps, t0=c.t0)
    )


def check_actions(actions: np.ndarray, spec: RobotSpec) -> None:
    """Every recorded target, before anything moves: ``actions`` (T, dof + 1) finite, the
    joints inside their limits, the gripper in [0, its width] (raises `RobostackError`)."""
    if actions.ndim != 2 or len(actions) == 0 or actions.shape[1] != spec.dof + 1:
        raise ShapeError("the recorded actions", actions.shape, ("T >= 1", spec.dof + 1))
    spec.check_positions(actions[:, :-1], what="a recorded joint target")
    gripper = actions[:, -1]
    outside = ~((gripper >= 0.0) & (gripper <= spec.gripper_width_max))  # NaN is outside
    if outside.any():
        frame = int(np.argmax(outside))
        raise RobostackError(
            f"the recorded gripper target {gripper[frame]} m at frame {frame} is outside "
            f"[0, {spec.gripper_width_max}] m"
        )
