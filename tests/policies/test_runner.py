"""The episode runner shared by in-process sources and the policy server."""

from __future__ import annotations

import numpy as np

from robostack.policies.runner import PolicyRunner
from tests.policies.helpers import FEATURES, tiny_dit


def _runner() -> PolicyRunner:
    return PolicyRunner(tiny_dit(), language=np.zeros(FEATURES.language_dim))


def test_a_chunk_is_due_every_ta_observations():
    runner = _runner()
    state, task = np.zeros(FEATURES.state_dim), np.zeros(2)
    due = [i for i in range(20) if runner.observe(state, task)]
    assert due == [0, 8, 16]  # Ta = 8


def test_a_lost_observation_does_not_lose_its_chunk():
    runner = _runner()
    state, task = np.zeros(FEATURES.state_dim), np.zeros(2)
    arrived = [i for i in range(20) if i != 8]  # observation 8 never came
    due = [i for i in arrived if runner.observe(state, task, index=i)]
    assert due == [0, 9, 16]
