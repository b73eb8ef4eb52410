"""Datasets in the LeRobot v3.0 on-disk layout, as LeRobot writes it; camera frames as videos
(`robostack.policies.datasets.video`).

```
DIR/meta/info.json                          codebase_version "v3.0", fps, features, totals
DIR/meta/stats.json                         per feature: min, max, mean, std, count, q01, q10,
                                            q50, q90, q99
DIR/meta/tasks.parquet                      task (the sentence, the table's pandas index) ->
                                            task_index
DIR/meta/episodes/chunk-000/file-000.parquet   one row per episode: length, tasks, ranges,
                                            stats/FEATURE/STAT (the episode's own statistics)
DIR/data/chunk-000/file-000.parquet         one row per frame
```

Frame columns: ``observation.state``, ``observation.environment_state``, ``action`` (float32
fixed-size lists), ``timestamp`` (float32, s from the episode's start), ``frame_index``,
``episode_index``, ``index`` (global frame index), ``task_index`` (int64); the data file
carries the Hugging Face ``datasets`` feature types LeRobot reads back. Per camera a video
feature ``observation.images.<name>`` (frames (N, H, W, 3) uint8 when read), its statistics per
channel shaped (3, 1, 1) in [0, 1]. `read_dataset` also reads datasets this project did not
write, and older ones of its own, as long as they follow the layout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robostack.core.errors import RobostackError
from robostack.policies.datasets.checks import check_dataset
from robostack.policies.datasets.video import IMAGE_PREFIX, VIDEO_PATH, VideoWriter, read_videos

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
TASKS_PATH = "meta/tasks.parquet"
QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}
STAT_KEYS = ("min", "max", "mean", "std", "count", *QUANTILES)
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
        image_stats = {k: _image_stats(v) for k, v in images.items()}
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
                "image_stats": image_stats,
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
        numeric = {k: np.stack(self._frames[k]) for k in VECTOR_KEYS}
        numeric["timestamp"] = np.asarray(self._frames["timestamp"], np.float32)
        numeric.update({k: np.asarray(self._frames[k], np.int64) for k in INDEX_KEYS})
        videos = self._videos.close() if self._videos else {}
        features = {
            k: {"dtype": "float32", "shape": [len(self.names[k])], "names": self.names[k]}
            for k in VECTOR_KEYS
        }
        features |= videos
        features["timestamp"] = {"dtype": "float32", "shape": [1], "names": None}
        features.update({k: {"dtype": "int64", "shape": [1], "names": None} for k in INDEX_KEYS})
        columns = {
            k: pa.FixedSizeListArray.from_arrays(pa.array(v.ravel(), pa.float32()), v.shape[1])
            for k, v in numeric.items()
            if k in VECTOR_KEYS
        }
        columns.update({k: pa.array(v) for k, v in numeric.items() if k not in VECTOR_KEYS})
        data = pa.table(columns).replace_schema_metadata(
            {"huggingface": json.dumps({"info": {"features": _hf_features(features)}})}
        )
        _write(self.root / DATA_PATH.format(chunk_index=0, file_index=0), data)
        _write(
            self.root / EPISODES_PATH.format(chunk_index=0, file_index=0),
            self._episode_table(numeric),
        )
        tasks = sorted(self._tasks, key=self._tasks.get)
        _write(self.root / TASKS_PATH, _tasks_table(tasks))
        stats = {k: feature_stats(v) for k, v in numeric.items()}
        for key in videos:
            stats[key] = _aggregate_image_stats([e["image_stats"][key] for e in self._episodes])
        (self.root / "meta/stats.json").write_text(json.dumps(stats, indent=2) + "\n")
        info = {
            "codebase_version": CODEBASE_VERSION,
            "robot_type": self.robot_type,
            "total_episodes": len(self._episodes),
            "total_frames": len(self._frames["index"]),
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

    def _episode_table(self, numeric: dict[str, np.ndarray]) -> pa.Table:
        """One row per episode, in LeRobot's column order; then robostack's own columns."""
        episodes = self._episodes
        columns = {
            "episode_index": [e["episode_index"] for e in episodes],
            "tasks": [e["tasks"] for e in episodes],
            "length": [e["length"] for e in episodes],
            "data/chunk_index": [0] * len(episodes),
            "data/file_index": [0] * len(episodes),
            "dataset_from_index": [e["from"] for e in episodes],
            "dataset_to_index": [e["to"] for e in episodes],
        }
        for key in episodes[0]:
            if key.startswith("videos/"):
                columns[key] = [e[key] for e in episodes]
        vectors = {k: v for k, v in numeric.items() if k in VECTOR_KEYS}
        scalars = {k: v for k, v in numeric.items() if k not in VECTOR_KEYS}
        per_episode = [
            {k: feature_stats(v[e["from"] : e["to"]]) for k, v in vectors.items()}
            | e["image_stats"]
            | {k: feature_stats(v[e["from"] : e["to"]]) for k, v in scalars.items()}
            for e in episodes
        ]  # in info.json's feature order: vectors, cameras, timestamp and indices
        for key in per_episode[0]:
            for stat in STAT_KEYS:
                values = [stats[key][stat] for stats in per_episode]
                kind = pa.int64() if stat == "count" else pa.float64()
                for _ in range(np.ndim(values[0]) - 1):  # cameras' (3, 1, 1)
                    kind = pa.list_(kind)
                columns[f"stats/{key}/{stat}"] = pa.array(values, pa.list_(kind))
        columns["meta/episodes/chunk_index"] = [0] * len(episodes)
        columns["meta/episodes/file_index"] = [0] * len(episodes)
        for key in episodes[0]:
            if key.startswith("robostack/"):
                columns[key] = [e[key] for e in episodes]
        return pa.table(columns)


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
    """Load a LeRobot v3.0 dataset (any number of data files; vector and scalar features),
    its metadata checked against its rows (`robostack.policies.datasets.checks`). A file that
    cannot be read raises `RobostackError` naming it."""
    root = Path(root)
    info_file = root / "meta/info.json"
    if not info_file.is_file():
        raise RobostackError(f"{root} is not a LeRobot dataset: no meta/info.json")
    try:
        info = json.loads(info_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RobostackError(f"{info_file} is not valid JSON ({error})") from None
    if not isinstance(info, dict):
        raise RobostackError(f"{info_file} must hold a JSON object")
    if info.get("codebase_version") != CODEBASE_VERSION:
        version = info.get("codebase_version")
        raise RobostackError(
            f"{root}: codebase_version {version!r}, this reader reads {CODEBASE_VERSION}"
        )
    tables = [_read(p) for p in sorted((root / "data").glob("chunk-*/file-*.parquet"))]
    if not tables:
        raise RobostackError(f"{root}: no data files under data/")
    try:
        table = pa.concat_tables(tables).sort_by("index")
        frames = {}
        for name in table.column_names:
            column = table.column(name)
            if pa.types.is_list(column.type) or pa.types.is_fixed_size_list(column.type):
                frames[name] = np.asarray(column.to_pylist(), dtype=np.float32)
            elif pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
                frames[name] = column.to_numpy()
        episode_files = sorted((root / "meta/episodes").glob("chunk-*/file-*.parquet"))
        if not episode_files:
            raise RobostackError(f"{root}: no episode files under meta/episodes/")
        # episodes another writer appended may lack a writer's own columns (robostack/seed): null
        episodes = pa.concat_tables(
            [_read(p) for p in episode_files], promote_options="default"
        ).sort_by("episode_index")
        ranges = np.stack(
            [
                episodes.column("dataset_from_index").to_numpy(),
                episodes.column("dataset_to_index").to_numpy(),
            ],
            axis=1,
        )
        task_table = _read(root / TASKS_PATH)
        sentences = (
            task_table.column("task").to_pylist()
            if "task" in task_table.column_names
            else (task_table.column("__index_level_0__").to_pylist())
        )
        tasks = dict(zip(task_table.column("task_index").to_pylist(), sentences, strict=True))
    except (KeyError, ValueError, pa.ArrowException) as error:  # a column missing or mistyped
        raise RobostackError(f"{root}: not a usable LeRobot dataset ({error})") from None
    check_dataset(
        root,
        info=info,
        frames=frames,
        episodes=ranges,
        episode_indices=episodes.column("episode_index").to_numpy(),
        lengths=(
            episodes.column("length").to_numpy() if "length" in episodes.column_names else None
        ),
        tasks=tasks,
    )
    standard = {"episode_index", "tasks", "length", "dataset_from_index", "dataset_to_index"}
    extra = [
        c
        for c in episodes.column_names
        if c not in standard and "/" in c and not c.startswith("stats/")
    ]
    rows = [{c: episodes.column(c)[i].as_py() for c in extra} for i in range(episodes.num_rows)]
    meta = [{c: v for c, v in row.items() if v is not None} for row in rows]
    frames |= read_videos(root, info, episodes, ranges)
    return Dataset(info=info, frames=frames, episodes=ranges, tasks=tasks, episode_meta=meta)


def _read(path: Path) -> pa.Table:
    """A parquet file, or `RobostackError` naming it (missing, truncated, not parquet)."""
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as error:
        raise RobostackError(f"{path} cannot be read ({error})") from None


def _write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def feature_stats(values: np.ndarray) -> dict[str, list]:
    """LeRobot's statistics of one feature over (N,) or (N, n) values, per entry: min, max,
    mean, std, count [N] and the quantiles q01, q10, q50, q90, q99."""
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    stats = {
        "min": values.min(axis=0).tolist(),
        "max": values.max(axis=0).tolist(),
        "mean": values.mean(axis=0).tolist(),
        "std": values.std(axis=0).tolist(),
        "count": [len(values)],
    }
    for key, q in QUANTILES.items():
        stats[key] = np.quantile(values, q, axis=0).tolist()
    return stats


def _image_stats(frames: np.ndarray) -> dict[str, list]:
    """LeRobot's statistics of one camera's (T, H, W, 3) uint8 frames, per channel in [0, 1]
    shaped (3, 1, 1); count [T]."""
    stats = feature_stats(np.asarray(frames).reshape(-1, 3) / 255.0)
    out = {k: [[[v]] for v in values] for k, values in stats.items() if k != "count"}
    return out | {"count": [len(frames)]}


def _aggregate_image_stats(episodes: list[dict[str, list]]) -> dict[str, list]:
    """A camera's statistics over every episode from each episode's `_image_stats`, as
    LeRobot aggregates them: extremes of the extremes, count-weighted means and quantiles, the
    pooled standard deviation."""
    counts = np.array([e["count"][0] for e in episodes], np.float64)
    weight = counts / counts.sum()

    def stacked(stat: str) -> np.ndarray:
        return np.array([e[stat] for e in episodes], np.float64)  # (E, 3, 1, 1)

    mean = np.tensordot(weight, stacked("mean"), 1)
    variance = np.tensordot(weight, stacked("std") ** 2 + (stacked("mean") - mean) ** 2, 1)
    out = {
        "min": stacked("min").min(axis=0),
        "max": stacked("max").max(axis=0),
        "mean": mean,
        "std": np.sqrt(variance),
    }
    out |= {q: np.tensordot(weight, stacked(q), 1) for q in QUANTILES}
    return {k: v.tolist() for k, v in out.items()} | {"count": [int(counts.sum())]}


def _tasks_table(tasks: list[str]) -> pa.Table:
    """meta/tasks.parquet as pandas writes LeRobot's task frame: ``task_index`` a column and
    ``task`` the index (the pandas metadata says so; readers without pandas see two columns)."""
    table = pa.table({"task_index": pa.array(range(len(tasks)), pa.int64()), "task": tasks})
    column = {"metadata": None, "pandas_type": "int64", "numpy_type": "int64"}
    unicode = {"pandas_type": "unicode", "numpy_type": "object", "metadata": None}
    pandas = {
        "index_columns": ["task"],
        "column_indexes": [
            {"name": None, "field_name": None, **unicode, "metadata": {"encoding": "UTF-8"}}
        ],
        "columns": [
            {"name": "task_index", "field_name": "task_index", **column},
            {"name": "task", "field_name": "task", **unicode},
        ],
        "attributes": {},
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.3",
    }
    return table.replace_schema_metadata({"pandas": json.dumps(pandas)})


def _hf_features(features: dict[str, dict]) -> dict[str, dict]:
    """info.json's features as Hugging Face ``datasets`` feature types (the data file's
    ``huggingface`` metadata): vectors fixed-length lists, scalars values."""
    out = {}
    for key, feature in features.items():
        if feature["dtype"] == "video":  # in the video files, not the data file
            continue
        value = {"dtype": feature["dtype"], "_type": "Value"}
        if feature["names"] is None:
            out[key] = value
        else:
            out[key] = {"feature": value, "length": feature["shape"][0], "_type": "List"}
    return out
