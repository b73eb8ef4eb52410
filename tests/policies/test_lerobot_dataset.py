"""LeRobot v3.0 datasets: write/read round trip, the specified files and columns, foreign data."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from robostack.core.errors import RobostackError
from robostack.policies.datasets import DatasetWriter, read_dataset

NAMES = {
    "observation.state": ["a", "b", "c"],
    "observation.environment_state": ["x", "y"],
    "action": ["a", "b"],
}


def _episode(rng, length):
    return {
        "observation.state": rng.normal(size=(length, 3)).astype(np.float32),
        "observation.environment_state": rng.normal(size=(length, 2)).astype(np.float32),
        "action": rng.normal(size=(length, 2)).astype(np.float32),
        "timestamp": (np.arange(length) / 10).astype(np.float32),
    }


def test_round_trip_gives_equal_arrays_and_the_specified_layout(tmp_path):
    rng = np.random.default_rng(0)
    episodes = [_episode(rng, n) for n in (5, 7, 3)]
    tasks = [
        "push the red cube onto the green square",
        "reach the blue marker",
        "reach the blue marker",
    ]
    writer = DatasetWriter(root=tmp_path / "ds", fps=10, robot_type="panda", names=NAMES)
    for frames, task in zip(episodes, tasks, strict=True):
        writer.add_episode(frames, task)
    root = writer.close()

    info = json.loads((root / "meta/info.json").read_text())
    assert (
        info["codebase_version"] == "v3.0" and info["fps"] == 10 and info["robot_type"] == "panda"
    )
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (3, 15, 2)
    assert info["features"]["observation.state"] == {
        "dtype": "float32",
        "shape": [3],
        "names": NAMES["observation.state"],
    }
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    columns = pq.read_table(root / "data/chunk-000/file-000.parquet").column_names
    assert set(columns) == {
        "observation.state",
        "observation.environment_state",
        "action",
        "timestamp",
        "frame_index",
        "episode_index",
        "index",
        "task_index",
    }
    episodes_table = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet")
    assert episodes_table.column("length").to_pylist() == [5, 7, 3]
    stats = json.loads((root / "meta/stats.json").read_text())
    assert set(stats) >= {"observation.state", "action"} and len(stats["action"]["mean"]) == 2

    dataset = read_dataset(root)
    for n, frames in enumerate(episodes):
        loaded = dataset.episode(n)
        for key in ("observation.state", "observation.environment_state", "action", "timestamp"):
            assert np.array_equal(loaded[key], frames[key])
        assert np.array_equal(loaded["frame_index"], np.arange(len(frames["timestamp"])))
    assert dataset.task_of_frame()[:5] == [tasks[0]] * 5 and dataset.task_of_frame()[-1] == tasks[2]
    assert np.array_equal(dataset.frames["index"], np.arange(15))


def test_reader_takes_datasets_it_did_not_write(tmp_path):
    """Several data files, tasks as a pandas-style index, extra columns: still read."""
    root = tmp_path / "foreign"
    (root / "meta/episodes/chunk-000").mkdir(parents=True)
    (root / "data/chunk-000").mkdir(parents=True)
    info = {"codebase_version": "v3.0", "fps": 30, "robot_type": "so100", "features": {}}
    (root / "meta/info.json").write_text(json.dumps(info))
    for file_index, (lo, hi) in enumerate([(0, 4), (4, 6)]):
        n = hi - lo
        table = pa.table(
            {
                "observation.state": pa.array(
                    [[float(i), 1.0] for i in range(lo, hi)], pa.list_(pa.float32())
                ),
                "timestamp": pa.array(np.arange(n, dtype=np.float32)),
                "frame_index": pa.array(np.arange(n)),
                "episode_index": pa.array([file_index] * n),
                "index": pa.array(np.arange(lo, hi)),
                "task_index": pa.array([0] * n),
                "next.done": pa.array([False] * n),
            }
        )
        pq.write_table(table, root / f"data/chunk-000/file-{file_index:03d}.parquet")
    pq.write_table(
        pa.table(
            {"episode_index": [0, 1], "dataset_from_index": [0, 4], "dataset_to_index": [4, 6]}
        ),
        root / "meta/episodes/chunk-000/file-000.parquet",
    )
    pq.write_table(
        pa.table({"task_index": [0], "__index_level_0__": ["fold the towel"]}),
        root / "meta/tasks.parquet",
    )
    dataset = read_dataset(root)
    assert dataset.frames["observation.state"][:, 0].tolist() == [0, 1, 2, 3, 4, 5]
    assert (
        dataset.episodes.tolist() == [[0, 4], [4, 6]]
        and dataset.task_of_frame() == ["fold the towel"] * 6
    )


def test_bad_datasets_and_folders_are_refused(tmp_path):
    with pytest.raises(RobostackError, match=r"no meta/info\.json"):
        read_dataset(tmp_path)
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta/info.json").write_text(json.dumps({"codebase_version": "v2.1"}))
    with pytest.raises(RobostackError, match=r"codebase_version 'v2\.1'"):
        read_dataset(tmp_path)
    with pytest.raises(RobostackError, match="not empty"):
        DatasetWriter(root=tmp_path, fps=10, robot_type="panda", names=NAMES)
    writer = DatasetWriter(root=tmp_path / "new", fps=10, robot_type="panda", names=NAMES)
    bad = _episode(np.random.default_rng(1), 4)
    bad["action"] = bad["action"][:, :1]
    with pytest.raises(RobostackError, match=r"action has shape \(4, 1\), expected \(4, 2\)"):
        writer.add_episode(bad, "t")
