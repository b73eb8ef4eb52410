"""`robostack launch` end to end: a sentence to a recorded, successful MuJoCo episode."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from robostack.cli.main import main
from robostack.core.paths import LAUNCH_FILES
from robostack.runtime.recording.reader import joint_signal


def _launch_file(tmp_path, base="panda_mujoco.toml"):
    """The shipped file with recordings going to tmp_path (runs_dir is relative to the cwd)."""
    text = (
        (LAUNCH_FILES / base).read_text().replace('runs_dir = "runs"', f'runs_dir = "{tmp_path}"')
    )
    path = tmp_path / base
    path.write_text(text)
    return path


def test_a_sentence_launches_a_successful_recorded_episode_in_a_subprocess(tmp_path, capsys):
    path = _launch_file(tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "robostack.cli.main",
            "launch",
            "reach the blue marker behind the wall",
            "--launch",
            str(path),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["successes"] == 1
    assert report["plan"]["task"] == "obstacle" and report["plan"]["slots"] == {"colour": "blue"}
    episode = report["results"][0]
    assert episode["description"] == "reach the blue marker behind the wall"
    recording = tmp_path / episode["recording"].split("/")[-1]
    assert json.loads((recording / "summary.json").read_text())["success"]
    ticks, q = joint_signal(recording / "session.rrd", "q")
    assert ticks.size > 1000 and q.shape[1] == 7
    # robostack runs lists it with what it ran and how long it took; a report folder (what
    # robostack eval writes) is no session: skipped, with a note
    (tmp_path / "99990101-000000-eval-reach").mkdir()
    (tmp_path / "99990101-000000-eval-reach/eval.json").write_text("{}")
    capsys.readouterr()
    assert main(["runs", "--runs-dir", str(tmp_path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    (row,) = listed["runs"]
    assert (row["task"], row["seed"], row["success"]) == ("obstacle", 0, True)
    assert row["robot_s"] == pytest.approx(episode["duration_s"], abs=0.01)
    assert row["wall_s"] > 0 and listed["skipped"] == ["99990101-000000-eval-reach"]
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "obstacle" in text and "yes" in text and "skipped 1 folder(s)" in text


def test_a_sentence_launches_the_same_policy_in_pybullet(tmp_path, capsys):
    path = _launch_file(tmp_path, "panda_pybullet.toml")
    argv = ["launch", "reach the red marker behind the wall", "--launch", str(path), "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["plan"]["backend"] == "pybullet" and report["successes"] == 1


def test_dry_run_prints_the_plan_and_moves_nothing(tmp_path, capsys):
    path = _launch_file(tmp_path)
    argv = ["launch", "push the red cube onto the green square", "--launch", str(path)]
    assert main([*argv, "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert plan["task"] == "push" and plan["slots"] == {"colour": "red", "target": "green"}
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]  # no run folder: nothing ran
    assert main([*argv, "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "task: push (slots: colour=red, target=green)" in text and "safety:" in text


def test_refused_goals_exit_2_before_anything_moves(tmp_path, capsys):
    path = _launch_file(tmp_path)
    for goal in ("sing a song", "move the red cube", "push the purple cube onto the green square"):
        assert main(["launch", goal, "--launch", str(path), "--json"]) == 2
        out = json.loads(capsys.readouterr().out)
        assert not out["ok"] and "nearest tasks" in out["error"]
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]


def test_a_real_robot_launch_needs_confirmation_and_the_vendor_library(capsys, monkeypatch):
    argv = ["launch", "reach the red marker", "--launch", str(LAUNCH_FILES / "franka_fci.toml")]
    assert main(argv) == 2  # no --address
    assert "--address" in capsys.readouterr().err
    assert main([*argv, "--address", "172.16.0.2", "--dry-run"]) == 0
    assert "velocity x0.25" in capsys.readouterr().out
    assert main([*argv, "--address", "172.16.0.2"]) == 2  # stdin is not a terminal, no --yes
    assert "needs confirmation" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "pylibfranka", None)  # not installed: import fails
    assert main([*argv, "--address", "172.16.0.2", "--yes"]) == 2
    assert "pip install 'robostack[franka]'" in capsys.readouterr().err
