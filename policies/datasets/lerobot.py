"""Datasets in the LeRobot v3.0 on-disk layout; camera frames as videos
(`robostack.policies.datasets.video`).

```
DIR/meta/info.json                          codebase_version "v3.0", fps, features, totals
DIR/meta/stats.json                         per feature: mean, std, min, max, count
DIR/meta/tasks.parquet                      task (the sentence, index) -> task_index
DIR/meta/episodes/chunk-000/file-000.parquet   one row per episode: length, tasks, ranges
DIR/data/chunk-000/file-000.parquet         one row per frame
```

Frame columns: ``observation.state``, ``observation.environment_state``, ``action`` (float32
lists), ``timestamp`` (float32, s from the episode's start), ``frame_index``,
``episode_index``, ``index`` (global frame index), ``task_index`` (int64); per camera a video
feature ``observation.images.<name>`` (frames (N, H, W, 3) uint8 when read). `read_dataset`
also reads datasets this project did not write, as long as they follow the layout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robostack.core.errors import RobostackError
from robostack.policies.datasets.video import IMAGE_PREFIX, VIDEO_PATH, VideoWriter, read_videos

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VECTOR_KEYS = ("observation.state", "observation.environment_state", "action")
INDEX_KEYS = ("frame_index", "episode_index", "index", "task_index")


@dataclass
class DatasetWriter:
    """Accumulates episodes and writes them as one LeRobot v3.0 dataset in `close`.

    Args:
        root: the dataset folder (must be absent or empty).
        fps: frames per second.
        robot_type: e.g. ``"panda"``.
        names: per vector feature, the names of its entries (``info.json``'s ``names``).
    """

    root: Path
    fps: int
    robot_type: str
    names: dict[str, list[str]]
    _frames: dict[str, list] = field(
        default_factory=lambda: {k: [] for k in (*VECTOR_KEYS, "timestamp", *INDEX_KEYS)}
    )
    _episodes: list[dict] = field(default_factory=list)
    _tasks: dict[str, int] = field(default_factory=dict)
    _videos: VideoWriter | None = None

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if self.root.exists() and any(self.root.iterdir()):
            raise RobostackError(f"{self.root} exists and is not empty; choose a new folder")

    def add_episode(
        self, frames: dict[str, np.ndarray], task: str, meta: dict[str, int | str] | None = None
    ) -> None:
        """One episode: ``frames`` maps each vector key to (T, n), ``timestamp`` to (T,) and
        each camera's ``observation.images.<name>`` to (T, H, W, 3) uint8 (encoded now).

        ``meta`` adds columns to the episode's row (robostack writes ``robostack/task`` and
        ``robostack/seed``, which make an episode reproducible); other readers ignore them.
        """
        length = len(frames["timestamp"])
        if length == 0:
            raise RobostackError("an episode needs at least one frame")
        for key in VECTOR_KEYS:
            expected = (length, len(self.names[key]))
            if frames[key].shape != expected:
                raise RobostackError(f"{key} has shape {frames[key].shape}, expected {expected}")
        images = {k: v for k, v in frames.items() if k.startswith(IMAGE_PREFIX)}
        if any(len(v) != length for v in images.values()):
            raise RobostackError(f"every camera needs {length} frames, one per timestamp")
        if images and self._videos is None:
            self._videos = VideoWriter(self.root, self.fps)
        where = self._videos.add_episode(images) if self._videos else {}
        episode = len(self._episodes)
        task_index = self._tasks.setdefault(task, len(self._tasks))
        start = len(self._frames["index"])
        for key in VECTOR_KEYS:
            self._frames[key].extend(np.asarray(frames[key], dtype=np.float32))
        self._frames["timestamp"].extend(np.asarray(frames["timestamp"], dtype=np.float32))
        self._frames["frame_index"].extend(range(length))
        self._frames["episode_index"].extend([episode] * length)
        self._frames["index"].extend(range(start, start + length))
        self._frames["task_index"].extend([task_index] * length)
        self._episodes.append(
            {
                **(meta or {}),
                **where,
                "episode_index": episode,
                "tasks": [task],
                "length": length,
                "from": start,
                "to": start + length,
            }
        )

    def close(self) -> Path:
        """Write data, episodes, tasks, stats and info; return the dataset folder."""
        if not self._episodes:
            raise RobostackError("no episodes to write")
        (self.root / "meta").mkdir(parents=True, exist_ok=True)
        data = {k: np.stack(self._frames[k]) for k in VECTOR_KEYS}
        columns = {k: pa.array(list(v), type=pa.list_(pa.float32())) for k, v in data.items()}
        columns["timestamp"] = pa.array(np.asarray(self._frames["timestamp"], np.float32))
        for key in INDEX_KEYS:
            columns[key] = pa.array(np.asarray(self._frames[key], np.int64))
        _write(self.root / DATA_PATH.format(chunk_index=0, file_index=0), pa.table(columns))
        episodes = pa.table(
            {
                "episode_index": [e["episode_index"] for e in self._episodes],
                "tasks": [e["tasks"] for e in self._episodes],
                "length": [e["length"] for e in self._episodes],
                "data/chunk_index": [0] * len(self._episodes),
                "data/file_index": [0] * len(self._episodes),
                "dataset_from_index": [e["from"] for e in self._episodes],
                "dataset_to_index": [e["to"] for e in self._episodes],
                "meta/episodes/chunk_index": [0] * len(self._episodes),
                "meta/episodes/file_index": [0] * len(self._episodes),
                **{
                    key: [e[key] for e in self._episodes]
                    for key in self._episodes[0]
                    if key.startswith(("robostack/", "videos/"))
                },
            }
        )
        _write(self.root / EPISODES_PATH.format(chunk_index=0, file_index=0), episodes)
        tasks = sorted(self._tasks, key=self._tasks.get)
        _write(
            self.root / "meta/tasks.parquet",
            pa.table({"task_index": [self._tasks[t] for t in tasks]}).append_column(
                "task", pa.array(tasks)
            ),
        )
        stats = {k: _stats(v) for k, v in data.items()}
        stats["timestamp"] = _stats(np.asarray(self._frames["timestamp"], np.float32)[:, None])
        videos, video_stats = self._videos.close() if self._videos else ({}, {})
        stats |= video_stats
        (self.root / "meta/stats.json").write_text(json.dumps(stats, indent=2) + "\n")
        total = len(self._frames["index"])
        features = {
            k: {"dtype": "float32", "shape": [len(self.names[k])], "names": self.names[k]}
            for k in VECTOR_KEYS
        }
        features |= videos
        features["timestamp"] = {"dtype": "float32", "shape": [1], "names": None}
        features.update({k: {"dtype": "int64", "shape": [1], "names": None} for k in INDEX_KEYS})
        info = {
            "codebase_version": CODEBASE_VERSION,
            "robot_type": self.robot_type,
            "total_episodes": len(self._episodes),
            "total_frames": total,
            "total_tasks": len(self._tasks),
            "chunks_size": CHUNKS_SIZE,
            "data_files_size_in_mb": 100,
            "video_files_size_in_mb": 200,
            "fps": self.fps,
            "splits": {"train": f"0:{len(self._episodes)}"},
            "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if videos else None,
            "features": features,
        }
        (self.root / "meta/info.json").write_text(json.dumps(info, indent=2) + "\n")
        return self.root


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: frame arrays in global index order, episode ranges, task sentences.

    Attributes:
        info: meta/info.json.
        frames: feature -> array; vectors (N, n) float32, scalars (N,).
        episodes: (E, 2) [from, to) frame ranges.
        tasks: task_index -> sentence.
        episode_meta: per episode, the episodes table's other columns (e.g. robostack/seed).
    """

    info: dict
    frames: dict[str, np.ndarray]
    episodes: np.ndarray
    tasks: dict[int, str]
    episode_meta: list[dict]

    @property
    def fps(self) -> int:
        return int(self.info["fps"])

    def task_of_frame(self) -> list[str]:
        """The task sentence of every frame."""
        return [self.tasks[int(i)] for i in self.frames["task_index"]]

    def episode(self, n: int) -> dict[str, np.ndarray]:
        start, stop = self.episodes[n]
        return {k: v[start:stop] for k, v in self.frames.items()}


def read_dataset(root: Path) -> Dataset:
    """Load a LeRobot v3.0 dataset (any number of data files; vector and scalar features)."""
    root = Path(root)
    info_file = root / "meta/info.json"
    if not info_file.is_file():
        raise RobostackError(f"{root} is not a LeRobot dataset: no meta/info.json")
    info = json.loads(info_file.read_text())
    if info.get("codebase_version") != CODEBASE_VERSION:
        version = info.get("codebase_version")
        raise RobostackError(
            f"{root}: codebase_version {version!r}, this reader reads {CODEBASE_VERSION}"
        )
    tables = [pq.read_table(p) for p in sorted((root / "data").glob("chunk-*/file-*.parquet"))]
    if not tables:
        raise RobostackError(f"{root}: no data files under data/")
    table = pa.concat_tables(tables).sort_by("index")
    frames = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_list(column.type) or pa.types.is_fixed_size_list(column.type):
            frames[name] = np.asarray(column.to_pylist(), dtype=np.float32)
        elif pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            frames[name] = column.to_numpy()
    episode_tables = [
        pq.read_table(p) for p in sorted((root / "meta/episodes").glob("chunk-*/file-*.parquet"))
    ]
    episodes = pa.concat_tables(episode_tables).sort_by("episode_index")
    ranges = np.stack(
        [
            episodes.column("dataset_from_index").to_numpy(),
            episodes.column("dataset_to_index").to_numpy(),
        ],
        axis=1,
    )
    task_table = pq.read_table(root / "meta/tasks.parquet")
    sentences = (
        task_table.column("task").to_pylist()
        if "task" in task_table.column_names
        else (task_table.column("__index_level_0__").to_pylist())
    )
    tasks = dict(zip(task_table.column("task_index").to_pylist(), sentences, strict=True))
    standard = {"episode_index", "tasks", "length", "dataset_from_index", "dataset_to_index"}
    extra = [c for c in episodes.column_names if c not in standard and "/" in c]
    meta = [{c: episodes.column(c)[i].as_py() for c in extra} for i in range(episodes.num_rows)]
    frames |= read_videos(root, info, episodes, ranges)
    return Dataset(info=info, frames=frames, episodes=ranges, tasks=tasks, episode_meta=meta)


def _write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def _stats(values: np.ndarray) -> dict:
    values = np.asarray(values, dtype=np.float64)
    return {
        "mean": values.mean(axis=0).tolist(),
        "std": values.std(axis=0).tolist(),
        "min": values.min(axis=0).tolist(),
        "max": values.max(axis=0).tolist(),
        "count": [len(values)],
    }
