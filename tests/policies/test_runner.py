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


def test_camera_frames_join_the_history_and_a_missing_or_resized_camera_is_refused():
    import dataclasses

    import pytest

    from robostack.policies.features import CameraMismatchError

    features = dataclasses.replace(FEATURES, environment_dim=0, cameras=(("front", 16, 24),))
    policy = tiny_dit(features=features, image_width=8, keypoints=4)
    runner = PolicyRunner(policy, language=np.zeros(FEATURES.language_dim))
    state = np.zeros(FEATURES.state_dim)
    frames = [np.full((16, 24, 3), v, np.uint8) for v in (0, 255)]
    for frame in frames:
        runner.observe(state, None, images={"front": frame})
    obs = runner.observation()
    assert set(obs) == {"state", "language", "images.front"}
    assert obs["images.front"].shape == (1, 2, 3, 16, 24)
    assert obs["images.front"][0, 0].max() == 0.0 and obs["images.front"][0, 1].min() == 1.0
    assert runner.predict().shape == (FEATURES.horizon, FEATURES.action_dim)
    with pytest.raises(CameraMismatchError, match="lacks"):
        runner.observe(state, None, images={"wrist": frames[0]})
    with pytest.raises(CameraMismatchError, match="8x24"):
        runner.observe(state, None, images={"front": frames[0][:8]})
    with pytest.raises(ValueError, match="at most 0"):
        runner.observe(state, np.zeros(2), images={"front": frames[0]})
