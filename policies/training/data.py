"""Training windows from LeRobot datasets: (observation history, action chunk) pairs.

For frame i of an episode [a, b) a window is the observation frames i - To + 1 .. i (clamped to
a: the first frame repeats) and the action frames i .. i + Tp - 1 (clamped to b - 1: the last
target repeats, the arm at rest). Several datasets (tasks) of one robot can be mixed; their
task-state vectors are zero-padded to the widest, with a mask saying which numbers are real.
Sentences are embedded once per distinct sentence. Training batches draw each task equally
often (`TrainingData.sample`), whatever its share of the windows: a task of short episodes
is not starved by one of long episodes. ``task_weights`` tilts those shares.

With ``cameras`` the windows carry those cameras' frames (the datasets' video features
``observation.images.<name>``, decoded once) instead of the object state: a policy from pixels
sees proprioception, images and language only. The object state then comes along as a training
target only (`TrainingData.batch`), for a probe that learns to read it from the images.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from robostack.core.errors import RobostackError
from robostack.policies.datasets import Dataset, read_dataset
from robostack.policies.features import PolicyFeatures, check_cameras, image_key


@dataclass(frozen=True)
class TrainingData:
    """All frames of the mixed datasets as tensors, and the windows over them.

    Attributes:
        state: (N, S).  environment_state: (N, E) zero-padded.  environment_mask: (N, E).
        language: (N, L).  action: (N, A).  (N = frames of all datasets.)
        obs_index: (W, To) frame indices of each window's observations.
        action_index: (W, Tp) frame indices of each window's actions.
        window_weight: (W,) each window's probability in `sample`: its task's share of the
            draws (`task_weights`) / the windows of its task.
        robot: the robot every dataset was recorded on.
        tasks: task name -> {"environment_dim": real width, "episodes": n, "sentences": [...]}.
        images: camera name -> (N, 3, H, W) uint8 frames; with cameras the batches, stats and
            features leave the object state out as an input (`batch`).
    """

    state: torch.Tensor
    environment_state: torch.Tensor
    environment_mask: torch.Tensor
    language: torch.Tensor
    action: torch.Tensor
    obs_index: torch.Tensor
    action_index: torch.Tensor
    window_weight: torch.Tensor
    robot: str
    tasks: dict[str, dict]
    images: dict[str, torch.Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.obs_index.shape[0]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """(n,) window indices drawn with replacement, each task by its share (`window_weight`)."""
        return torch.multinomial(self.window_weight, n, replacement=True, generator=generator)

    def batch(self, windows: torch.Tensor) -> dict[str, torch.Tensor]:
        """Observation and action tensors (`robostack.policies.features` shapes) for window indices
        (B,). With cameras, the object state is no input; where the data has one it comes as a
        target for a probe that learns to read it from the images (the DiT's ``probe_dim``):
        ``probe_state`` (B, E), the last observation step's, m, padding 0, and ``probe_mask``
        (B, E)."""
        obs = self.obs_index[windows]
        last = obs[:, -1]
        batch = {
            "state": self.state[obs],
            "language": self.language[last],
            "action": self.action[self.action_index[windows]],
        }
        if not self.images:
            batch["environment_state"] = self.environment_state[obs]
            batch["environment_mask"] = self.environment_mask[last]
        elif self.environment_state.shape[1]:
            batch["probe_state"] = self.environment_state[last]
            batch["probe_mask"] = self.environment_mask[last]
        for name, frames in self.images.items():
            batch[image_key(name)] = frames[obs].float() / 255.0
        return batch

    def stats(self) -> dict[str, dict]:
        """Per-dimension min / max; task-state padding is left out of its dimension's range.
        With cameras, the object state's range is the probe's (``probe``)."""
        env = self.environment_state.numpy()
        valid = self.environment_mask.numpy() > 0
        lo = np.where(valid, env, np.inf).min(axis=0)
        hi = np.where(valid, env, -np.inf).max(axis=0)
        unused = ~valid.any(axis=0)
        lo[unused], hi[unused] = 0.0, 0.0
        stats = {
            "state": _range(self.state),
            "language": _range(self.language),
            "action": _range(self.action),
        }
        if not self.images:
            stats["environment_state"] = {"min": lo.tolist(), "max": hi.tolist()}
        elif env.shape[1]:
            stats["probe"] = {"min": lo.tolist(), "max": hi.tolist()}
        for name, frames in self.images.items():  # per channel, in [0, 1]
            step = max(1, len(frames) // 2000)  # a spread sample of at most ~2000 frames
            values = frames[::step].float().div(255.0).transpose(0, 1).flatten(1)
            stats[image_key(name)] = {
                "mean": values.mean(dim=1).tolist(),
                "std": values.std(dim=1).clamp_min(1e-3).tolist(),
            }
        return stats

    def features(self, **timing) -> PolicyFeatures:
        """The `PolicyFeatures` of this data; ``timing`` sets obs_horizon, horizon, executed."""
        return PolicyFeatures(
            state_dim=self.state.shape[1],
            environment_dim=0 if self.images else self.environment_state.shape[1],
            action_dim=self.action.shape[1],
            language_dim=self.language.shape[1],
            cameras=tuple((n, f.shape[2], f.shape[3]) for n, f in self.images.items()),
            **timing,
        )


def load_training_data(
    roots: Sequence[Path],
    *,
    embed: Callable[[Sequence[str]], np.ndarray],
    obs_horizon: int = 2,
    horizon: int = 16,
    task_weights: Mapping[str, float] | None = None,
    cameras: Sequence[str] = (),
) -> TrainingData:
    """Read and mix the datasets at ``roots`` (one robot); ``embed`` maps sentences -> (n, L).
    ``task_weights``: task -> relative share of the training draws (a task not named: 1).
    ``cameras``: the cameras to train from (module doc); a dataset without one of them, or
    with another resolution than the first dataset's, raises `CameraMismatchError`."""
    if not roots:
        raise RobostackError("no datasets given")
    datasets = [read_dataset(Path(r)) for r in roots]
    for root, d in zip(roots, datasets, strict=True):
        _check_features(root, d)
    robots = {d.info.get("robot_type") for d in datasets}
    if len(robots) != 1:
        raise RobostackError(f"the datasets mix robots {sorted(map(str, robots))}; use one")
    widths = {d.frames["action"].shape[1] for d in datasets}
    if len(widths) != 1:
        raise RobostackError(f"the datasets' action widths differ: {sorted(widths)}")
    width = max(_environment_state(d).shape[1] for d in datasets)
    images = {name: _camera_frames(roots, datasets, name) for name in cameras}
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("state", "env", "mask", "lang", "act")}
    obs_index, action_index, window_task, tasks, offset = [], [], [], {}, 0
    for root, d in zip(roots, datasets, strict=True):
        n = d.frames["action"].shape[0]
        env = _environment_state(d)
        sentences = d.task_of_frame()
        episode_task = [m.get("robostack/task", Path(root).name) for m in d.episode_meta]
        for name in set(episode_task):
            entry = tasks.setdefault(
                name, {"environment_dim": env.shape[1], "episodes": 0, "sentences": []}
            )
            entry["episodes"] += episode_task.count(name)
            entry["sentences"] = sorted(set(entry["sentences"]) | set(d.tasks.values()))
        parts["state"].append(d.frames["observation.state"])
        parts["env"].append(np.pad(env, ((0, 0), (0, width - env.shape[1]))))
        parts["mask"].append(np.repeat((np.arange(width) < env.shape[1])[None], n, axis=0))
        parts["lang"].append(embed(sentences))
        parts["act"].append(d.frames["action"])
        for (a, b), name in zip(d.episodes, episode_task, strict=True):
            window_task.extend([name] * (b - a))
            i = np.arange(a, b)[:, None]
            obs = np.clip(i - obs_horizon + 1 + np.arange(obs_horizon), a, b - 1)
            obs_index.append(offset + obs)
            action_index.append(offset + np.clip(i + np.arange(horizon), a, b - 1))
        offset += n

    def tensor(key: str) -> torch.Tensor:
        return torch.from_numpy(np.concatenate(parts[key]).astype(np.float32))

    return TrainingData(
        state=tensor("state"),
        environment_state=tensor("env"),
        environment_mask=tensor("mask"),
        language=tensor("lang"),
        action=tensor("act"),
        obs_index=torch.from_numpy(np.concatenate(obs_index)),
        action_index=torch.from_numpy(np.concatenate(action_index)),
        window_weight=task_weighted_windows(window_task, task_weights or {}),
        robot=str(robots.pop()),
        tasks=tasks,
        images=images,
    )


def _camera_frames(roots: Sequence[Path], datasets: Sequence[Dataset], camera: str) -> torch.Tensor:
    """Camera ``camera``'s frames of every dataset, (N, 3, H, W) uint8, checked."""
    key, parts = "observation." + image_key(camera), []
    for root, d in zip(roots, datasets, strict=True):
        offered = {
            k.removeprefix("observation.images."): tuple(v.shape[1:3])
            for k, v in d.frames.items()
            if k.startswith("observation.images.")
        }
        size = tuple(parts[0].shape[1:3]) if parts else offered.get(camera, (0, 0))
        check_cameras(((camera, *size),), offered, where=f"dataset {root}")
        parts.append(d.frames[key])
    return torch.from_numpy(np.ascontiguousarray(np.concatenate(parts).transpose(0, 3, 1, 2)))


REQUIRED_FEATURES = ("observation.state", "action", "task_index")


def _check_features(root: Path, dataset: Dataset) -> None:
    """Refuse a dataset that lacks a feature every policy needs, naming it and the dataset.
    ``observation.environment_state`` may be absent: the policy then learns from
    proprioception and language alone."""
    missing = [k for k in REQUIRED_FEATURES if k not in dataset.frames]
    if missing:
        present = sorted(k for k in dataset.frames if k not in ("index", "timestamp"))
        raise RobostackError(
            f"dataset {root} has no {', '.join(missing)} feature (it has {', '.join(present)}); "
            f"training needs {', '.join(REQUIRED_FEATURES)}"
        )


def _environment_state(dataset: Dataset) -> np.ndarray:
    """(N, E) the dataset's object state; (N, 0) where it has none."""
    frames = dataset.frames
    if "observation.environment_state" in frames:
        return frames["observation.environment_state"]
    return np.zeros((len(frames["action"]), 0), np.float32)


def task_weighted_windows(
    window_task: Sequence[str], task_weights: Mapping[str, float]
) -> torch.Tensor:
    """(W,) float64 sampling weights summing to 1 that give each task a share of the draws in
    proportion to ``task_weights[task]`` (1 for a task not named), however many windows it has."""
    names, task, counts = np.unique(window_task, return_inverse=True, return_counts=True)
    unknown = set(task_weights) - set(names)
    if unknown:
        raise RobostackError(f"task weights name {sorted(unknown)}, the data has {list(names)}")
    weight = np.array([float(task_weights.get(name, 1.0)) for name in names])
    if not (np.all(np.isfinite(weight)) and np.all(weight >= 0) and weight.sum() > 0):
        raise RobostackError(f"task weights must be >= 0 and not all 0, got {dict(task_weights)}")
    return torch.from_numpy((weight / weight.sum())[task] / counts[task])


def _range(values: torch.Tensor) -> dict[str, list[float]]:
    return {"min": values.min(dim=0).values.tolist(), "max": values.max(dim=0).values.tolist()}
