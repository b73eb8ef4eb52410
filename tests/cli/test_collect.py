"""`robostack collect` end to end: the expert, the loop, a LeRobot dataset, a recording."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from robostack.cli.main import main
from robostack.policies.datasets import read_dataset


def test_collect_writes_a_dataset_of_successful_expert_episodes(tmp_path):
    out, runs = tmp_path / "reach", tmp_path / "runs"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "robostack.cli.main",
            "collect",
            "--task",
            "reach",
            "--episodes",
            "4",
            "--out",
            str(out),
            "--runs-dir",
            str(runs),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["successes"] == 4 and report["episodes_per_minute"] > 0
    assert len(report["recordings"]) == 2 and len(list(runs.iterdir())) == 2
    dataset = read_dataset(out)
    assert dataset.info["total_episodes"] == 4 and dataset.info["robot_type"] == "panda"
    assert dataset.frames["observation.state"].shape[1] == 18  # q, dq (7 each), gripper, tool
    assert dataset.frames["action"].shape[1] == 8  # joint targets, gripper target
    assert all(
        t.startswith("reach the ") and t.endswith(" marker") for t in dataset.task_of_frame()
    )
    first = dataset.episode(0)
    # the action is the expert's target one frame ahead: the next frames' positions follow it
    assert np.abs(first["action"][:-1, :7] - first["observation.state"][1:, :7]).max() < 0.02
    # reach's expert sets no gripper width: the recorded target is the width the gripper holds
    np.testing.assert_allclose(first["action"][:, 7], first["observation.state"][:, 14], atol=1e-6)
    assert first["action"][0, 7] > 0.07  # the Hand starts open


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "juggle", "--episodes", "1"], "unknown task 'juggle'"),
        (["--task", "reach", "--episodes", "0"], "episodes must be positive, got 0"),
        (["--task", "push", "--episodes", "1", "--robot", "ur5e"], "made for panda, not ur5e"),
    ],
)
def test_bad_input_is_refused(tmp_path, capsys, args, message):
    assert main(["collect", *args, "--out", str(tmp_path / "out"), "--json"]) == 2
    assert message in json.loads(capsys.readouterr().out)["error"]


def test_an_existing_non_empty_folder_is_refused(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert (
        main(["collect", "--task", "reach", "--episodes", "1", "--out", str(tmp_path), "--json"])
        == 2
    )
    assert "not empty" in json.loads(capsys.readouterr().out)["error"]
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_collect_with_cameras_writes_what_each_camera_saw_as_videos(tmp_path):
    from robostack.sim import make_simulation
    from robostack.sim.cameras import cameras_named
    from robostack.sim.tasks import make_task

    out = tmp_path / "reach"
    argv = ["collect", "--task", "reach", "--episodes", "2", "--out", str(out)]
    argv += ["--cameras", "front,wrist", "--image-size", "32", "--runs-dir", str(tmp_path)]
    assert main([*argv, "--json"]) == 0
    dataset = read_dataset(out)
    features = dataset.info["features"]
    assert features["observation.images.wrist"]["info"]["video.codec"] == "av1"
    length = len(dataset.frames["timestamp"])
    for camera in ("front", "wrist"):
        assert dataset.frames[f"observation.images.{camera}"].shape == (length, 32, 32, 3)
    # the first frame of episode 1 (seed 1) is the front camera's view of that seed's scene
    task = make_task("reach")
    cameras = tuple(c.resized(32, 32) for c in cameras_named("front,wrist"))
    with make_simulation(
        "mujoco", robot="panda", objects=task.scene_objects(), cameras=cameras
    ) as sim:
        sim.reset(seed=1)
        task.reset(sim, sim.rng)
        seen = sim.render("front").astype(int)
    recorded = dataset.episode(1)["observation.images.front"][0].astype(int)
    other = dataset.episode(0)["observation.images.front"][0].astype(int)
    assert np.abs(recorded - seen).mean() < 6.0
    assert np.abs(recorded - seen).mean() < np.abs(other - seen).mean()
