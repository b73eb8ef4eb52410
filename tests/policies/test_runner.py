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


def _pixel_runner(perturbation) -> PolicyRunner:
    import dataclasses

    cameras = (("front", 16, 24), ("wrist", 16, 24))
    features = dataclasses.replace(FEATURES, environment_dim=0, cameras=cameras)
    policy = tiny_dit(features=features, image_width=8, keypoints=4)
    return PolicyRunner(policy, language=np.zeros(FEATURES.language_dim), perturbation=perturbation)


def _frames_seen(perturbation, count: int = 20) -> dict[str, list[np.ndarray]]:
    """The frames reaching the policy for ``count`` observations of distinct frames (value k
    + 1 everywhere at observation k), per camera, (H, W, 3) uint8."""
    runner, state = _pixel_runner(perturbation), np.zeros(FEATURES.state_dim)
    seen: dict[str, list[np.ndarray]] = {"front": [], "wrist": []}
    for k in range(count):
        images = {name: np.full((16, 24, 3), k + 1, np.uint8) for name in seen}
        runner.observe(state, None, images=images)
        for name in seen:
            latest = runner.observation()[f"images.{name}"][0, -1]
            seen[name].append((latest * 255).round().byte().permute(1, 2, 0).numpy())
    return seen


def test_a_blacked_out_camera_reaches_the_policy_as_zeros_and_the_other_untouched():
    from robostack.policies.runner import ImagePerturbation

    seen = _frames_seen(ImagePerturbation("blackout", camera="wrist", seed=3))
    assert all(not frame.any() for frame in seen["wrist"])
    assert [int(frame.min()) for frame in seen["front"]] == list(range(1, 21))


def test_occlusion_hides_the_asked_share_of_each_frame_the_same_for_a_seed():
    import pytest

    from robostack.policies.runner import ImagePerturbation

    for share in (0.2, 0.4, 0.6):
        seen = _frames_seen(ImagePerturbation("occlude", share, seed=1), count=6)
        hidden = [float((frame == 0).all(axis=-1).mean()) for frame in seen["front"]]
        # 16 x 24 pixels in an 8 x 8 grid: 2 x 3 pixel cells, so the share is exact
        assert hidden == pytest.approx([round(share * 64) / 64] * 6)
        masks = [(frame == 0).all(axis=-1) for frame in seen["front"]]
        assert not all(np.array_equal(masks[0], m) for m in masks[1:])  # drawn anew each frame
    again = _frames_seen(ImagePerturbation("occlude", 0.4, seed=1), count=6)
    other = _frames_seen(ImagePerturbation("occlude", 0.4, seed=2), count=6)
    first = _frames_seen(ImagePerturbation("occlude", 0.4, seed=1), count=6)
    assert all(np.array_equal(a, b) for a, b in zip(again["front"], first["front"], strict=True))
    assert not all(
        np.array_equal(a, b) for a, b in zip(other["front"], first["front"], strict=True)
    )


def test_dropped_frames_repeat_the_last_delivered_one_at_about_the_asked_share():
    from robostack.policies.runner import ImagePerturbation

    for share in (0.2, 0.4, 0.6):
        seen = _frames_seen(ImagePerturbation("drop", share, seed=0), count=200)
        for name, frames in seen.items():
            values = [int(frame[0, 0, 0]) for frame in frames]
            assert values[0] == 1 and all((f == f.flat[0]).all() for f in frames)
            # a frame is either the new one or the one delivered before it
            assert all(v == k + 1 or v == values[k - 1] for k, v in enumerate(values) if k)
            dropped = sum(v != k + 1 for k, v in enumerate(values)) / len(values)
            assert abs(dropped - share) < 0.1, (name, share, dropped)


def test_image_perturbations_are_checked():
    import pytest

    from robostack.policies.runner import ImagePerturbation

    with pytest.raises(ValueError, match="names its camera"):
        ImagePerturbation("blackout")
    with pytest.raises(ValueError, match="kind must be"):
        ImagePerturbation("blur", 0.2)
    with pytest.raises(ValueError, match="no camera 'overhead'"):
        _pixel_runner(ImagePerturbation("blackout", camera="overhead"))
    with pytest.raises(ValueError, match="from cameras"):
        PolicyRunner(
            tiny_dit(),
            language=np.zeros(FEATURES.language_dim),
            perturbation=ImagePerturbation("drop", 0.2),
        )


def test_each_frame_is_encoded_once_and_the_chunks_are_those_of_a_full_encoding():
    """The image encoders run once per observation, never per denoising step; across chunks
    each frame is encoded once (the first one, repeated To times, once; the one before a due
    observation ahead of time), and the chunks equal those of encoding every frame."""
    import torch

    runner = _pixel_runner(None)
    policy, state = runner.policy, np.zeros(FEATURES.state_dim)
    calls = []
    for encoder in policy.encoder.images.values():
        encoder.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    rng = np.random.default_rng(0)
    for k in range(17):
        images = {n: rng.integers(0, 256, (16, 24, 3), dtype=np.uint8) for n in ("front", "wrist")}
        due = runner.observe(state, None, images=images)
        if due:
            obs = runner.observation()
            calls.clear()
            actions = runner.predict(obs)
            # one encoder call per camera with only the frames not encoded before; DDIM-10
            assert calls == [1, 1], (k, calls)
            calls.clear()
            full = policy.predict_chunk(
                obs, generator=torch.Generator().manual_seed(k), sampler="ddim", steps=10
            )
            assert calls == [2, 2]  # To frames a camera, in one call, not one per step
            again = _pixel_runner(None)
            again.policy.load_state_dict(policy.state_dict())
            cached = again.policy.predict_chunk(
                obs,
                generator=torch.Generator().manual_seed(k),
                sampler="ddim",
                steps=10,
                frame_tokens=runner.encodings(obs),
            )
            assert torch.allclose(full, cached, atol=1e-5)
            assert actions.shape == (FEATURES.horizon, FEATURES.action_dim)
        elif runner.ahead():
            calls.clear()
            runner.encode_ahead(runner.observation())
            assert calls == [1, 1]
    # chunks at 0 (frame 0), 8 (frames 7, 8) and 16 (15, 16): five frames per camera
    assert runner.encodings.encoded == 2 * 5
