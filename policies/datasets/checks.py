"""A LeRobot dataset's metadata checked against its rows, before anything uses them.

`check_dataset` refuses, with a `RobostackError` naming the dataset and the problem, frames
whose global ``index`` is not 0..N-1, episode ranges outside the frames, overlapping or out of
order, episodes whose frames carry another ``episode_index`` or whose ``length`` disagrees,
feature shapes in info.json that the rows do not have, totals that do not count the rows, task
indices with no task, and an fps that is not a positive number. Replay and training then never
play across an episode boundary or index past the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robostack.core.errors import RobostackError


def check_dataset(
    root: Path,
    *,
    info: dict,
    frames: dict[str, np.ndarray],
    episodes: np.ndarray,
    episode_indices: np.ndarray,
    lengths: np.ndarray | None,
    tasks: dict[int, str],
) -> None:
    """Check (module doc). ``frames``: feature -> (N, ...) rows in ``index`` order;
    ``episodes``: (E, 2) [from, to) ranges in episode order, ``episode_indices`` (E,) their
    ``episode_index``, ``lengths`` (E,) their declared lengths (None if not given)."""

    def refuse(problem: str) -> None:
        raise RobostackError(f"{root}: {problem}; the dataset's metadata disagrees with its rows")

    for key in ("index", "episode_index", "task_index"):
        if key not in frames:
            refuse(f"the frames have no {key!r} column")
    n = len(frames["index"])
    if not np.array_equal(frames["index"], np.arange(n)):
        refuse(f"the frames' global index is not 0..{n - 1}")
    if episodes.ndim != 2 or len(episodes) == 0:
        refuse("no episodes in meta/episodes")
    starts, stops = episodes[:, 0], episodes[:, 1]
    if (starts < 0).any() or (stops > n).any() or (stops <= starts).any():
        bad = int(np.flatnonzero((starts < 0) | (stops > n) | (stops <= starts))[0])
        refuse(
            f"episode {episode_indices[bad]} spans frames [{starts[bad]}, {stops[bad]}), "
            f"outside the {n} frames"
        )
    if (starts[1:] < stops[:-1]).any():
        refuse("episode frame ranges overlap or are out of order")
    for e, (start, stop) in zip(episode_indices, episodes, strict=True):
        if not (frames["episode_index"][start:stop] == e).all():
            refuse(f"frames [{start}, {stop}) of episode {e} belong to other episodes")
    if lengths is not None and not np.array_equal(lengths, stops - starts):
        bad = int(np.flatnonzero(lengths != stops - starts)[0])
        refuse(
            f"episode {episode_indices[bad]} declares length {lengths[bad]}, its range "
            f"holds {stops[bad] - starts[bad]} frames"
        )
    for key, feature in (info.get("features") or {}).items():
        if key not in frames or not isinstance(feature, dict):
            continue
        declared = list(feature.get("shape") or [1])
        actual = list(frames[key].shape[1:]) or [1]
        if declared != actual:
            refuse(f"info.json declares {key} of shape {declared}, the rows hold {actual}")
    for key, count in (("total_frames", n), ("total_episodes", len(episodes))):
        if key in info and info[key] != count:
            refuse(f"info.json's {key} is {info[key]}, the rows hold {count}")
    unknown = set(np.unique(frames["task_index"]).tolist()) - set(tasks)
    if unknown:
        refuse(f"frames name task indices {sorted(unknown)[:5]} that meta/tasks.parquet lacks")
    fps = info.get("fps")
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not 0 < fps <= 10_000:
        refuse(f"info.json's fps is {fps!r}, not a rate in (0, 10000] Hz")
