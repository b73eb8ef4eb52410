"""`robostack train`, `eval` and `bench policy` end to end on a few expert demonstrations."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from robostack.cli.main import main

TINY = ["--set", "d_model=32", "--set", "n_layers=1", "--set", "n_obs_layers=1"]


@pytest.fixture(scope="module")
def trained(reach_dataset, tmp_path_factory):
    """A tiny DiT and MLP trained for a few steps on the shared reach demonstrations."""
    root = tmp_path_factory.mktemp("trained")
    for policy, extra in (("dit", TINY), ("mlp", ["--set", "hidden=32"])):
        argv = ["train", "--dataset", str(reach_dataset), "--out", str(root / policy)]
        argv += ["--policy", policy, "--steps", "20", "--batch-size", "16", *extra, "--json"]
        assert main(argv) == 0
    return root


def test_train_writes_a_loadable_checkpoint_and_a_log(trained, capsys):
    checkpoint = trained / "dit/checkpoint"
    config = json.loads((checkpoint / "config.json").read_text())
    assert config["policy"] == "dit" and config["config"]["d_model"] == 32
    assert config["data"]["robot"] == "panda" and list(config["data"]["tasks"]) == ["reach"]
    assert (trained / "dit/training_state.safetensors").is_file()
    lines = (trained / "dit/log.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["step"] == 20


def test_eval_writes_a_json_and_png_report_and_recordings(trained, tmp_path, capsys):
    argv = ["eval", "--checkpoint", str(trained / "dit/checkpoint"), "--task", "reach"]
    argv += ["--episodes", "2", "--robustness", "--robustness-episodes", "1"]
    argv += ["--diversity-samples", "4"]
    argv += ["--record", "1", "--out", str(tmp_path / "report"), "--runs-dir", str(tmp_path)]
    argv += ["--sampler", "dpmsolver", "--sampling-steps", "5", "--json"]
    capsys.readouterr()
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["episodes"] == 2 and 0 <= report["success_rate"] <= 1
    lo, hi = report["success_ci95"]
    assert 0 <= lo <= report["success_rate"] <= hi <= 1
    assert [p["share"] for p in report["robustness"]["mask"]] == [0.0, 0.2, 0.4, 0.6]
    assert report["diversity_rad"] > 0  # a diffusion policy samples different chunks
    assert len(report["recordings"]) == 1
    assert (tmp_path / "report/eval.json").is_file()
    assert (tmp_path / "report/eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diversity_can_be_skipped_with_any_sampler(trained, tmp_path, capsys):
    argv = ["eval", "--checkpoint", str(trained / "dit/checkpoint"), "--task", "reach"]
    argv += ["--episodes", "1", "--robustness-episodes", "0", "--diversity-samples", "0"]
    argv += ["--sampler", "dpmsolver", "--record", "0", "--out", str(tmp_path), "--json"]
    capsys.readouterr()
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["diversity_rad"] is None


def test_the_mlp_baseline_has_no_diversity(trained, tmp_path, capsys):
    argv = ["eval", "--checkpoint", str(trained / "mlp/checkpoint"), "--task", "reach"]
    argv += ["--episodes", "1", "--diversity-samples", "4", "--record", "0"]
    argv += ["--out", str(tmp_path), "--json"]
    capsys.readouterr()
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["diversity_rad"] == 0.0


def test_eval_runs_the_episodes_asked_for_and_nothing_more_with_progress_on_stderr(
    trained, tmp_path, capsys
):
    argv = ["eval", "--checkpoint", str(trained / "mlp/checkpoint"), "--task", "reach"]
    argv += ["--episodes", "2", "--out", str(tmp_path), "--runs-dir", str(tmp_path)]
    capsys.readouterr()
    assert main(argv) == 0
    out, err = capsys.readouterr()
    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["episodes"] == 2 and report["diversity_rad"] is None
    assert report["robustness"] == {"mask": [], "noise": []}
    assert "eval: 0/2 episodes" in err and "eval: 2/2 episodes" in err  # the total from the start
    assert "robustness" not in out and "diversity" not in out


def test_bench_policy_times_every_sampler_and_the_baseline(trained, capsys):
    argv = ["bench", "policy", "--checkpoint", str(trained / "dit/checkpoint")]
    argv += ["--baseline", str(trained / "mlp/checkpoint"), "--calls", "5", "--json"]
    capsys.readouterr()
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    cpu = [(r["policy"], r["sampler"], r["network_calls"]) for r in rows if r["device"] == "cpu"]
    assert cpu == [
        ("dit", "ddpm", 100),
        ("dit", "ddim", 10),
        ("dit", "dpmsolver", 5),
        ("mlp", "-", 1),
    ]
    assert rows[0]["vs_ddpm"] == 1.0 and all(r["median_ms"] > 0 for r in rows)


def test_bench_policy_times_the_dit_from_pixels_all_frames_and_as_the_runner(trained, capsys):
    argv = ["bench", "policy", "--checkpoint", str(trained / "dit/checkpoint"), "--calls", "5"]
    argv += ["--pixels", "front,wrist", "--image-size", "32", "--image-width", "8", "--json"]
    capsys.readouterr()
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert [r["policy"] for r in rows] == ["dit", "dit-pixels", "dit-pixels-runner"]
    assert rows[0]["vs_state"] == 1.0 and all(r["median_ms"] > 0 for r in rows)
    assert rows[1]["images"] == 4 and rows[1]["encode_ms"] > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "depth=3"], "use KEY=VALUE with KEY in"),
        (["--set", "d_model=big"], "invalid literal"),
        (["--steps", "0"], "steps and batch_size must be >= 1"),
        (["--task-weight", "reach"], "use TASK=W"),
        (["--task-weight", "push=2"], "task weights name ['push']"),
    ],
)
def test_train_refuses_bad_input(reach_dataset, tmp_path, capsys, argv, message):
    full = ["train", "--dataset", str(reach_dataset), "--out", str(tmp_path / "o"), *argv]
    assert main(full) == 2
    assert message in capsys.readouterr().err


def test_eval_refuses_a_bad_checkpoint_with_its_reason(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{}")
    assert main(["eval", "--checkpoint", str(tmp_path), "--task", "reach"]) == 2
    assert "format None" in capsys.readouterr().err


def test_ddp_with_two_cpu_processes_trains(reach_dataset, tmp_path):
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    command += ["--master_port=29517", "-m", "robostack.cli.main", "train"]
    command += ["--dataset", str(reach_dataset), "--out", str(out), "--steps", "4"]
    command += ["--batch-size", "8", *TINY, "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["world_size"] == 2 and report["steps"] == 4
    assert (out / "checkpoint/model.safetensors").is_file()


def _without_feature(dataset: Path, feature: str, out: Path) -> Path:
    """A copy of ``dataset`` with ``feature`` taken out of its frames and its info.json."""
    shutil.copytree(dataset, out)
    for data in out.glob("data/chunk-*/file-*.parquet"):
        pq.write_table(pq.read_table(data).drop_columns([feature]), data)
    info = json.loads((out / "meta/info.json").read_text())
    del info["features"][feature]
    (out / "meta/info.json").write_text(json.dumps(info))
    return out


@pytest.mark.parametrize("feature", ["observation.state", "action"])
def test_train_on_a_dataset_lacking_a_needed_feature_names_it_in_one_line(
    reach_dataset, tmp_path, capsys, feature
):
    dataset = _without_feature(reach_dataset, feature, tmp_path / "lacking")
    argv = ["train", "--dataset", str(dataset), "--out", str(tmp_path / "o"), "--steps", "2"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"dataset {dataset} has no {feature} feature" in err
    assert not (tmp_path / "o").exists()


def test_train_without_object_state_learns_from_proprioception_and_language(
    reach_dataset, tmp_path, capsys
):
    dataset = _without_feature(
        reach_dataset, "observation.environment_state", tmp_path / "proprioception"
    )
    out = tmp_path / "o"
    argv = ["train", "--dataset", str(dataset), "--out", str(out), "--steps", "4"]
    assert main([*argv, "--batch-size", "8", *TINY, "--json"]) == 0
    config = json.loads((out / "checkpoint/config.json").read_text())
    assert config["config"]["features"]["environment_dim"] == 0
    argv = ["eval", "--checkpoint", str(out / "checkpoint"), "--task", "reach"]
    argv += ["--episodes", "1", "--robustness-episodes", "0", "--diversity-samples", "0"]
    argv += ["--sampler", "dpmsolver", "--record", "0", "--out", str(tmp_path / "r"), "--json"]
    capsys.readouterr()
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == 1
