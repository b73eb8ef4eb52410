"""A DiT from pixels through the user's commands: `collect --cameras`, `train --cameras`,
`eval` with the checkpoint's cameras and its partial-observation sweep; cameras a dataset lacks
refused with a one-line error."""

from __future__ import annotations

import json

import pytest

from robostack.cli.main import main

TINY = ["--set", "d_model=32", "--set", "n_layers=1", "--set", "n_obs_layers=1"]
TINY += ["--set", "image_width=8", "--set", "keypoints=4"]


@pytest.fixture(scope="module")
def pixel_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("pixels") / "reach"
    argv = ["collect", "--task", "reach", "--episodes", "2", "--out", str(out), "--seed", "1000"]
    argv += ["--cameras", "front,wrist", "--image-size", "32", "--json"]
    argv += ["--runs-dir", str(out.parent / "runs")]
    assert main(argv) == 0
    return out


def test_train_from_cameras_and_eval_with_the_checkpoints_cameras(pixel_dataset, tmp_path, capsys):
    out = tmp_path / "dit"
    argv = ["train", "--dataset", str(pixel_dataset), "--out", str(out), "--steps", "3"]
    argv += ["--batch-size", "4", "--cameras", "front,wrist", *TINY, "--json"]
    assert main(argv) == 0
    config = json.loads((out / "checkpoint/config.json").read_text())["config"]
    assert config["features"]["environment_dim"] == 0
    assert config["features"]["cameras"] == [["front", 32, 32], ["wrist", 32, 32]]
    stats = json.loads((out / "checkpoint/stats.json").read_text())
    assert "environment_state" not in stats and len(stats["images.front"]["mean"]) == 3
    argv = ["eval", "--checkpoint", str(out / "checkpoint"), "--task", "reach"]
    argv += ["--episodes", "1", "--diversity-samples", "0", "--record", "0"]
    argv += ["--robustness", "--robustness-episodes", "1"]
    argv += ["--out", str(tmp_path / "report"), "--json"]
    capsys.readouterr()
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["episodes"] == 1 and report["success_rate"] in (0.0, 1.0)
    # no state numbers to hide from a pixel policy: its sweep takes camera observation away
    robustness = report["robustness"]
    assert set(robustness) == {"occlude", "drop", "blackout", "shift_cm", "turn_deg"}
    for curve in ("occlude", "drop"):
        assert [p["share"] for p in robustness[curve]] == [0.0, 0.2, 0.4, 0.6]
    assert [p["camera"] for p in robustness["blackout"]] == ["front", "wrist"]
    for curve in ("shift_cm", "turn_deg"):
        assert [p["amount"] for p in robustness[curve]] == [0.0, 1.0, 2.0]
    rates = [p["success_rate"] for points in robustness.values() for p in points]
    assert all(rate in (0.0, 1.0) for rate in rates)
    assert (tmp_path / "report/eval.png").stat().st_size > 10_000


def test_training_from_a_camera_the_dataset_lacks_is_refused(pixel_dataset, tmp_path, capsys):
    argv = ["train", "--dataset", str(pixel_dataset), "--out", str(tmp_path / "dit")]
    argv += ["--steps", "1", "--cameras", "overhead", "--json"]
    capsys.readouterr()
    assert main(argv) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert "camera 'overhead'" in error and "lacks (it has: front, wrist)" in error
