"""A DiT from pixels through the user's commands: `collect --cameras`, `train --cameras`,
`eval` with the checkpoint's cameras and its partial-observation sweep; cameras a dataset lacks
refused with a one-line error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from robostack.cli.main import main
from tests.launcher.test_split_session import _launch_file, patient_config

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
    argv += ["--batch-size", "4", "--cameras", "front,wrist", "--obs-horizon", "1"]
    assert main([*argv, *TINY, "--json"]) == 0
    config = json.loads((out / "checkpoint/config.json").read_text())["config"]
    assert config["features"]["environment_dim"] == 0 and config["features"]["obs_horizon"] == 1
    assert config["proprioception"] == "positions"  # no joint velocities from cameras
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


def test_an_observation_horizon_out_of_range_is_refused(pixel_dataset, tmp_path, capsys):
    argv = ["train", "--dataset", str(pixel_dataset), "--out", str(tmp_path / "dit")]
    capsys.readouterr()
    assert main([*argv, "--steps", "1", "--obs-horizon", "0", "--json"]) == 2
    assert "--obs-horizon must be in [1, 64], got 0" in json.loads(capsys.readouterr().out)["error"]


@pytest.fixture(scope="module")
def pixel_checkpoint(pixel_dataset) -> Path:
    """A tiny DiT from the front and wrist cameras, trained for 3 steps."""
    out = pixel_dataset.parent / "pixel-dit"
    argv = ["train", "--dataset", str(pixel_dataset), "--out", str(out), "--steps", "3"]
    assert main([*argv, "--batch-size", "4", "--cameras", "front,wrist", *TINY, "--json"]) == 0
    return out / "checkpoint"


def test_fine_tuning_starts_from_the_checkpoints_network_and_weights(
    pixel_dataset, pixel_checkpoint, tmp_path, capsys
):
    from safetensors.torch import load_file

    out = tmp_path / "tuned"
    argv = ["train", "--dataset", str(pixel_dataset), "--out", str(out), "--steps", "1"]
    argv += ["--batch-size", "4", "--cameras", "front,wrist", "--lr", "1e-12"]
    assert main([*argv, "--init", str(pixel_checkpoint), "--json"]) == 0
    config = json.loads((out / "checkpoint/config.json").read_text())["config"]
    assert config["d_model"] == 32 and config["image_width"] == 8  # the checkpoint's, no --set
    start = load_file(pixel_checkpoint / "model.safetensors")
    tuned = load_file(out / "checkpoint/model.safetensors")
    assert all(torch.allclose(start[k].float(), tuned[k].float(), atol=1e-6) for k in start)
    capsys.readouterr()
    argv[4] = str(tmp_path / "other")
    assert main([*argv, "--init", str(pixel_checkpoint), "--obs-horizon", "1", "--json"]) == 2
    assert "trained on other features" in json.loads(capsys.readouterr().out)["error"]
    assert main([*argv, "--init", str(pixel_checkpoint), *TINY[:2], "--json"]) == 2
    assert "no --set or --resume" in json.loads(capsys.readouterr().out)["error"]


@pytest.fixture(scope="module")
def eight_episodes(tmp_path_factory) -> Path:
    """Eight reach episodes from the front and wrist cameras: eight placements of the markers."""
    out = tmp_path_factory.mktemp("probe") / "reach"
    argv = ["collect", "--task", "reach", "--episodes", "8", "--out", str(out), "--seed", "1000"]
    argv += ["--cameras", "front,wrist", "--image-size", "32", "--json"]
    assert main([*argv, "--runs-dir", str(out.parent / "runs")]) == 0
    return out


def _probe_error(checkpoint: Path, dataset: Path) -> tuple[float, float]:
    """The probe's mean squared error (normalized) over every window of ``dataset``, and the
    variance of its target (the error of predicting each number's mean)."""
    from robostack.policies.checkpoint import load_policy
    from robostack.policies.language import embed_sentences
    from robostack.policies.training import load_training_data

    policy = load_policy(checkpoint).float().eval()
    data = load_training_data([dataset], embed=embed_sentences, cameras=["front", "wrist"])
    batch = data.batch(torch.arange(len(data)))
    observation = {k: v for k, v in batch.items() if not k.startswith(("probe", "action"))}
    target = policy.probe_normalizer.normalize(batch["probe_state"])
    with torch.no_grad():
        predicted = policy.probe(policy.encode(observation))
    spread = ((target - target.mean(dim=0)) ** 2).mean()
    return float(((predicted - target) ** 2).mean()), float(spread)


def test_a_probe_learns_the_object_state_a_pixel_policy_does_not_read(eight_episodes, tmp_path):
    out = tmp_path / "probed"
    argv = ["train", "--dataset", str(eight_episodes), "--out", str(out), "--steps", "150"]
    argv += ["--batch-size", "16", "--cameras", "front,wrist", "--probe", "1"]
    assert main([*argv, *TINY, "--json"]) == 0
    config = json.loads((out / "checkpoint/config.json").read_text())["config"]
    assert config["features"]["environment_dim"] == 0  # the policy reads no object state
    assert (config["probe_dim"], config["probe_weight"]) == (6, 1.0)  # reach: two markers
    stats = json.loads((out / "checkpoint/stats.json").read_text())
    assert "environment_state" not in stats and len(stats["probe"]["min"]) == 6
    error, spread = _probe_error(out / "checkpoint", eight_episodes)
    assert error < 0.6 * spread, (error, spread)


def test_fine_tuning_with_a_probe_adds_one_to_the_checkpoints_network(
    pixel_dataset, pixel_checkpoint, tmp_path, capsys
):
    from safetensors.torch import load_file

    out = tmp_path / "tuned"
    argv = ["train", "--dataset", str(pixel_dataset), "--out", str(out), "--steps", "1"]
    argv += ["--batch-size", "4", "--cameras", "front,wrist", "--lr", "1e-12", "--probe", "0.5"]
    assert main([*argv, "--init", str(pixel_checkpoint), "--json"]) == 0
    config = json.loads((out / "checkpoint/config.json").read_text())["config"]
    assert (config["d_model"], config["probe_dim"], config["probe_weight"]) == (32, 6, 0.5)
    start = load_file(pixel_checkpoint / "model.safetensors")
    tuned = load_file(out / "checkpoint/model.safetensors")
    assert set(tuned) - set(start) == {"probe.weight", "probe.bias"}
    assert all(torch.allclose(start[k].float(), tuned[k].float(), atol=1e-6) for k in start)
    # from a checkpoint with a probe: the probe, its weights and its normalization carry on
    argv[4] = str(tmp_path / "again")
    argv[-1] = "0.25"
    assert main([*argv, "--init", str(out / "checkpoint"), "--json"]) == 0
    again = load_file(tmp_path / "again/checkpoint/model.safetensors")
    assert all(torch.allclose(tuned[k].float(), again[k].float(), atol=1e-6) for k in tuned)
    stats = [
        json.loads((d / "checkpoint/stats.json").read_text()) for d in (out, tmp_path / "again")
    ]
    assert stats[0]["probe"] == stats[1]["probe"] and len(stats[0]["probe"]["min"]) == 6


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--probe", "1"], "--probe is for the DiT from cameras: give --cameras"),
        (["--probe", "-1", "--cameras", "front"], "--probe must be in [0, 100], got -1.0"),
        (
            ["--probe", "1", "--cameras", "front", "--set", "probe_weight=2"],
            "--probe sets probe_dim and probe_weight: no --set of them",
        ),
        (
            ["--cameras", "front", "--set", "probe_dim=5"],
            "normalization stats for 'probe' have 6 dimensions, the probe predicts 5",
        ),
    ],
)
def test_a_probe_without_cameras_or_out_of_range_is_refused(
    pixel_dataset, tmp_path, capsys, options, message
):
    argv = ["train", "--dataset", str(pixel_dataset), "--out", str(tmp_path / "dit")]
    capsys.readouterr()
    assert main([*argv, "--steps", "1", *options, "--json"]) == 2
    assert message in json.loads(capsys.readouterr().out)["error"]
    assert not (tmp_path / "dit").exists()


def _robostack(*argv: str) -> tuple[subprocess.CompletedProcess, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "robostack.cli.main", *argv, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return done, json.loads(done.stdout.strip().splitlines()[-1])


def test_a_split_launch_runs_a_pixel_checkpoint(pixel_checkpoint, tmp_path):
    """`robostack launch --split` with a DiT from pixels: the control process renders its
    cameras at the policy rate and sends them with each observation; the policy server decodes
    them for the policy. Untrained, the policy need not succeed; it must act from the frames."""
    launch = _launch_file(tmp_path, patient_config(), checkpoint=pixel_checkpoint)
    _, report = _robostack("launch", "reach the red marker", "--launch", str(launch), "--split")
    (episode,) = report["results"]
    assert episode["outcome"] == "completed", episode["events"]
    assert episode["ipc"]["observations"] >= 20 and episode["ipc"]["chunks"] >= 3
    served = report["processes"]["policy_server"]["report"]
    # only repeats of observation 0, sent again while its chunk was awaited, may be dropped
    assert set(served["dropped"]) <= {"ipc_out_of_order"}
    assert served["observations"] >= episode["ipc"]["observations"] - 2
    summary = json.loads((Path(episode["recording"]) / "summary.json").read_text())
    assert summary["task"] == "reach"


def test_bench_ipc_measures_a_pixel_policy_over_lcm(pixel_checkpoint, tmp_path):
    launch = _launch_file(tmp_path, patient_config())  # the shipped reach DiT, from the state
    argv = ["bench", "ipc", "reach the red marker", "--seconds", "2", "--launch", str(launch)]
    _, report = _robostack(*argv, "--images", str(pixel_checkpoint))
    rows = {r["placement"]: r for r in report["rows"]}
    assert list(rows) == ["inline", "thread", "process", "images"]
    assert rows["process"]["camera_bytes_per_s"] == {}
    sent = rows["images"]["camera_bytes_per_s"]
    assert set(sent) == {"front", "wrist"}
    # 32 x 32 frames, JPEG at 10 Hz: well under their raw 30.7 kB/s each
    assert all(1e3 < rate < 32 * 32 * 3 * 10 for rate in sent.values()), sent
    for row in (rows["process"], rows["images"]):
        assert row["inference_ms"]["p50"] > 0 and row["transport_ms"]["p50"] > 0
    assert rows["inline"]["transport_ms"] is None  # no transport in the loop's own process


def test_bench_images_weighs_jpeg_against_raw_frames(pixel_checkpoint):
    argv = ["bench", "images", "--task", "reach", "--size", "32", "--frames", "2"]
    _, report = _robostack(*argv, "--checkpoint", str(pixel_checkpoint))
    rows = {(r["encoding"], r["quality"]): r for r in report["rows"]}
    raw = rows[("rgb8", None)]
    assert raw["bytes"] == 32 * 32 * 3 and raw["mean_abs_error"] == 0
    jpeg = [rows[("jpeg", q)] for q in (50, 75, 90, 95)]
    assert all(0 < r["bytes"] < raw["bytes"] and r["mean_abs_error"] > 0 for r in jpeg)
    # a higher quality costs bytes and buys accuracy
    assert [r["bytes"] for r in jpeg] == sorted(r["bytes"] for r in jpeg)
    assert [r["mean_abs_error"] for r in jpeg] == sorted(
        (r["mean_abs_error"] for r in jpeg), reverse=True
    )
    assert [r["quality"] for r in report["policy"]] == [50, 75, 90, 95]
    assert all(0 <= r["action_error_rad"] < 1 for r in report["policy"])
