"""The checkpoints shipped in assets/checkpoints: they load, are small, and work in the loop."""

from __future__ import annotations

import json

import pytest

from robostack.core.paths import CHECKPOINTS
from robostack.policies.checkpoint import load_policy, read_checkpoint_config
from robostack.sessions.evaluation import EvalOptions, evaluate

SHIPPED = {
    "reach": ("dit", ["reach"]),
    "push": ("dit", ["push"]),
    "pick_place": ("dit", ["pick_place"]),
    "obstacle": ("dit", ["obstacle"]),
    "obstacle_mlp": ("mlp", ["obstacle"]),
    "ur5e_reach": ("dit", ["reach"]),
    "multitask": ("dit", ["pick_place", "push", "reach"]),
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_a_shipped_checkpoint_loads_and_is_small(name):
    path = CHECKPOINTS / name
    size = sum(f.stat().st_size for f in path.iterdir())
    assert size <= 10e6
    config = read_checkpoint_config(path)
    policy, tasks = SHIPPED[name]
    assert config["policy"] == policy and sorted(config["data"]["tasks"]) == tasks
    assert load_policy(path).name == policy
    assert set(json.loads((path / "stats.json").read_text())) >= {"state", "action"}


@pytest.mark.parametrize(
    ("name", "task", "seed"),
    [("reach", "reach", 0), ("multitask", "reach", 0), ("multitask", "pick_place", 2)],
)
def test_a_shipped_policy_succeeds_on_a_fixed_seed(name, task, seed, tmp_path):
    policy = load_policy(CHECKPOINTS / name)
    options = EvalOptions(
        task=task,
        episodes=1,
        seed=seed,
        diversity_scenes=0,
        robustness_shares=(),
        record=0,
        runs_dir=tmp_path,
    )
    report = evaluate(policy, options)
    assert report["success_rate"] == 1.0 and report["held_or_stopped"] == 0
