"""`robostack replay`: a dataset episode's actions reproduce its success, and only its own do."""

from __future__ import annotations

import json

import pytest

from robostack.cli.main import main
from robostack.core.errors import RobostackError
from robostack.core.robots import get_robot
from robostack.policies.datasets import read_dataset
from robostack.sessions.collect import collect
from robostack.sessions.episodes import EpisodeSpec, run_episode
from robostack.sessions.replay import ActionReplay, check_actions


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    collect("push", episodes=2, out=root / "push", runs_dir=root / "runs")
    return root / "push"


def test_replay_reproduces_the_episode_and_records_it(dataset, tmp_path, capsys):
    assert (
        main(["replay", str(dataset), "--episode", "1", "--runs-dir", str(tmp_path), "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["success"] and report["seed"] == 1 and report["outcome"] == "completed"
    assert (tmp_path / report["run_dir"].split("/")[-1] / "session.rrd").exists()


def test_the_success_comes_from_the_actions(dataset):
    """Episode 0's actions in episode 1's scene (another cube, another square) fail."""
    data = read_dataset(dataset)
    wrong = data.episode(0)["action"].astype(float)
    result = run_episode(
        EpisodeSpec(task="push", seed=data.episode_meta[1]["robostack/seed"]),
        source=lambda c: ActionReplay(wrong, c.q_start, fps=data.fps, t0=c.t0),
    )
    assert not result.success


def test_replay_refuses_an_episode_that_is_not_there(dataset, capsys):
    assert main(["replay", str(dataset), "--episode", "7", "--no-record", "--json"]) == 2
    assert "episode 7 is not in the dataset (0..1)" in json.loads(capsys.readouterr().out)["error"]


@pytest.mark.parametrize(
    ("frame", "column", "value", "refusal"),
    [
        (18, 0, 9.0, "a recorded joint target.*panda_joint1"),
        (30, 3, float("nan"), "NaN or Inf"),
        (40, 7, 0.2, "gripper target 0.2 m at frame 40"),
        (None, None, None, "shape"),
    ],
)
def test_every_recorded_target_is_checked_before_anything_moves(
    dataset, frame, column, value, refusal
):
    actions = read_dataset(dataset).episode(0)["action"].astype(float)
    if frame is None:
        actions = actions[:, :-1]  # no gripper column
    else:
        actions[frame, column] = value
    with pytest.raises(RobostackError, match=refusal):
        check_actions(actions, get_robot("panda").spec)
