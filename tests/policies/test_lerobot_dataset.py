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


def _written(tmp_path):
    rng = np.random.default_rng(2)
    writer = DatasetWriter(root=tmp_path / "ds", fps=10, robot_type="panda", names=NAMES)
    episodes = [_episode(rng, n) for n in (6, 1, 9)]
    for frames, task in zip(episodes, ["reach", "push", "reach"], strict=True):
        writer.add_episode(frames, task, {"robostack/seed": 7})
    return writer.close(), episodes


def test_the_files_are_laid_out_as_lerobot_writes_them(tmp_path):
    root, episodes = _written(tmp_path)
    tasks = pq.read_table(root / "meta/tasks.parquet")
    assert json.loads(tasks.schema.metadata[b"pandas"])["index_columns"] == ["task"]
    assert tasks.column("task").to_pylist() == ["reach", "push"]
    data = pq.read_table(root / "data/chunk-000/file-000.parquet")
    assert data.schema.field("action").type == pa.list_(pa.float32(), 2)  # fixed size
    hf = json.loads(data.schema.metadata[b"huggingface"])["info"]["features"]
    assert hf["observation.state"] == {
        "feature": {"dtype": "float32", "_type": "Value"},
        "length": 3,
        "_type": "List",
    }
    assert hf["index"] == {"dtype": "int64", "_type": "Value"}

    info = json.loads((root / "meta/info.json").read_text())
    stats = json.loads((root / "meta/stats.json").read_text())
    keys = ["min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"]
    assert set(stats) == set(info["features"]) and all(list(s) == keys for s in stats.values())
    actions = np.concatenate([e["action"] for e in episodes])
    np.testing.assert_allclose(stats["action"]["q90"], np.quantile(actions, 0.9, axis=0))
    assert stats["index"]["count"] == [16] and stats["index"]["max"] == [15.0]

    table = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet")
    for n, frames in enumerate(episodes):
        medians = table.column("stats/observation.state/q50")[n].as_py()
        np.testing.assert_allclose(medians, np.median(frames["observation.state"], axis=0))
        assert table.column("stats/action/count")[n].as_py() == [len(frames["action"])]
    assert read_dataset(root).episode_meta[1]["robostack/seed"] == 7


def test_datasets_of_the_earlier_robostack_layout_still_read(tmp_path):
    """Variable-size float lists, tasks without pandas metadata, no per-episode stats."""
    root, episodes = _written(tmp_path)
    data_file = root / "data/chunk-000/file-000.parquet"
    data = pq.read_table(data_file)
    for key in NAMES:
        position = data.schema.get_field_index(key)
        data = data.set_column(position, key, data.column(key).cast(pa.list_(pa.float32())))
    pq.write_table(data.replace_schema_metadata(None), data_file)
    tasks_file = root / "meta/tasks.parquet"
    pq.write_table(pq.read_table(tasks_file).replace_schema_metadata(None), tasks_file)
    episodes_file = root / "meta/episodes/chunk-000/file-000.parquet"
    table = pq.read_table(episodes_file)
    pq.write_table(
        table.drop_columns([c for c in table.column_names if c.startswith("stats/")]),
        episodes_file,
    )
    dataset = read_dataset(root)
    assert np.array_equal(dataset.episode(2)["action"], episodes[2]["action"])
    assert dataset.task_of_frame()[6:8] == ["push", "reach"]
