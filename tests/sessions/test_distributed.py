"""Episodes on a local Ray instance with two workers, one of which dies mid-task: the same
dataset and the same outcomes as one process, nothing lost, nothing twice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robostack.core.paths import CHECKPOINTS
from robostack.policies.checkpoint import load_policy
from robostack.policies.datasets import read_dataset
from robostack.sessions.collect import collect
from robostack.sessions.distributed import RayCluster
from robostack.sessions.evaluation.evaluate import EvalOptions, run_episodes, run_on_cluster


@pytest.fixture(scope="module")
def ray_cluster():
    with RayCluster("local", workers=2) as cluster:
        yield cluster


def test_a_dataset_collected_on_ray_is_the_one_a_single_process_writes(ray_cluster, tmp_path):
    ray_cluster.die_once = tmp_path / "died"
    alone = collect("reach", episodes=6, out=tmp_path / "alone", runs_dir=tmp_path / "runs")
    spread = collect(
        "reach", episodes=6, out=tmp_path / "ray", runs_dir=tmp_path / "runs", cluster=ray_cluster
    )
    assert ray_cluster.die_once.exists()  # a worker died mid-task, and its task ran again
    assert (spread.successes, spread.failed_seeds) == (alone.successes, alone.failed_seeds)
    a, b = read_dataset(tmp_path / "alone"), read_dataset(tmp_path / "ray")
    assert np.array_equal(a.episodes, b.episodes)  # every episode once, in seed order
    assert [m["robostack/seed"] for m in b.episode_meta] == list(range(6))
    for key in ("observation.state", "observation.environment_state", "action"):
        assert np.array_equal(a.frames[key], b.frames[key]), key


def test_an_evaluation_on_ray_gets_the_single_process_outcomes(ray_cluster, tmp_path):
    ray_cluster.die_once = tmp_path / "died"
    checkpoint = CHECKPOINTS / "obstacle"
    options = EvalOptions(task="obstacle", record=0, num_envs=2, checkpoint=checkpoint)
    specs = [(seed, None, False) for seed in range(6)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as on the workers: the same arithmetic
    try:
        alone = run_episodes(load_policy(checkpoint), options, specs, lambda: None)
    finally:
        torch.set_num_threads(threads)
    spread = run_on_cluster(ray_cluster, options, specs)
    assert ray_cluster.die_once.exists()
    assert [r.seed for r in spread] == list(range(6))
    assert [(r.success, r.mode) for r in spread] == [(r.success, r.mode) for r in alone]
