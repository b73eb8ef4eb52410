"""Batched rollouts give every seed the outcome it gets alone."""

from __future__ import annotations

import pytest

from policies.checkpoint import load_policy
from robostack.evaluation.evaluate import EvalOptions, run_episodes
from robostack.paths import CHECKPOINTS


def test_four_episodes_at_once_match_four_alone():
    policy = load_policy(CHECKPOINTS / "obstacle")
    specs = [(seed, None, False) for seed in range(4)]
    alone = run_episodes(policy, EvalOptions(task="obstacle", record=0), specs, lambda: None)
    options = EvalOptions(task="obstacle", record=0, num_envs=4)
    together = run_episodes(policy, options, specs, lambda: None)
    for a, b in zip(alone, together, strict=True):
        assert (a.seed, a.success, a.mode) == (b.seed, b.success, b.mode)
        assert a.time_to_success == pytest.approx(b.time_to_success, abs=0.05)
        assert len(b.inference_s) >= 5  # it asked, and was answered, chunk after chunk
