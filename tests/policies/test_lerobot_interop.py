"""A robostack dataset through LeRobot's own `LeRobotDataset`, and LeRobot's back through
robostack's reader.

LeRobot needs Python 3.12, so it runs in its own interpreter: ``ROBOSTACK_LEROBOT_PYTHON``
names one with ``lerobot[dataset]`` installed (`lerobot_conformance.py` is what it runs);
without it the test skips, saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from robostack.policies.datasets import read_dataset

PYTHON = os.environ.get("ROBOSTACK_LEROBOT_PYTHON")
SCRIPT = Path(__file__).with_name("lerobot_conformance.py")
VIDEO_SCRIPT = Path(__file__).with_name("lerobot_video_conformance.py")

pytestmark = pytest.mark.skipif(
    not PYTHON,
    reason="ROBOSTACK_LEROBOT_PYTHON is not set: no Python 3.12 with lerobot[dataset] to test with",
)


def run_lerobot(script: Path, dataset: Path, work: Path) -> dict:
    """Run ``script`` in LeRobot's Python, offline, on ``dataset``; its JSON report."""
    offline = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(work / "hf")}
    done = subprocess.run(
        [PYTHON, str(script), str(dataset), str(work)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **offline},
        cwd=work,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_lerobot_loads_appends_to_and_merges_our_dataset_and_we_read_its_own(
    reach_dataset, tmp_path
):
    ours = read_dataset(reach_dataset)
    report = run_lerobot(SCRIPT, reach_dataset, tmp_path)

    sentences = sorted(set(ours.task_of_frame()))
    assert report["frames"] == len(ours.frames["index"]) and report["episodes"] == len(
        ours.episodes
    )
    assert report["tasks"] == sentences  # sentences, not task indices
    assert {"q01", "q10", "q50", "q90", "q99"} <= set(report["stats_keys"])
    assert report["appended_episodes"] == len(ours.episodes) + 1
    assert report["appended_last_task"] == "wave at the camera"
    assert report["merged_frames"] == len(ours.frames["index"]) + 9  # LeRobot's: 4 + 5 frames
    assert set(sentences) < set(report["merged_tasks"])

    theirs = read_dataset(tmp_path / "written")
    assert theirs.episodes.tolist() == [[0, 4], [4, 9]]
    assert (
        theirs.task_of_frame()
        == ["reach the red cube"] * 4 + ["push the blue cube to the goal"] * 5
    )
    assert theirs.frames["action"].shape == (9, ours.frames["action"].shape[1])

    appended = read_dataset(tmp_path / "appended")
    assert appended.task_of_frame()[-3:] == ["wave at the camera"] * 3
    assert np.array_equal(
        appended.frames["action"][: len(ours.frames["action"])], ours.frames["action"]
    )
    assert appended.episode_meta[0]["robostack/seed"] == ours.episode_meta[0]["robostack/seed"]

    merged = read_dataset(tmp_path / "merged")
    assert sorted(set(merged.task_of_frame())) == report["merged_tasks"]


def test_lerobot_decodes_the_frames_of_a_dataset_collected_with_a_camera(tmp_path):
    from robostack.sessions.collect import collect
    from robostack.sim.cameras import cameras_at

    root = tmp_path / "reach"
    collect(
        "reach",
        episodes=2,
        out=root,
        runs_dir=tmp_path / "runs",
        seed=1000,
        cameras=cameras_at((("front", 32, 40),)),
    )
    ours = read_dataset(root)
    report = run_lerobot(VIDEO_SCRIPT, root, tmp_path)

    key = "observation.images.front"
    assert report["frames"] == len(ours.frames["index"]) and report["video_keys"] == [key]
    assert {"mean", "std", "q01", "q99"} <= set(report["stats_keys"][key])
    theirs = np.load(tmp_path / f"{key}.npy")  # (N, 3, H, W) in [0, 1]
    assert theirs.shape == (len(ours.frames["index"]), 3, 32, 40)
    mine = ours.frames[key].transpose(0, 3, 1, 2) / 255.0
    assert np.abs(theirs - mine).max() <= 2 / 255  # the same frames, frame by frame
    assert theirs.std(axis=(1, 2, 3)).min() > 0.0  # pictures, not blank frames
