import dataclasses
import math

import pytest
import torch

from robostack.policies.dit import DiTConfig, DiTPolicy
from robostack.policies.dit.image_encoder import crop
from robostack.policies.dit.network import timestep_embedding
from tests.policies.helpers import (
    FEATURES,
    batch_with_actions,
    observation,
    randomize_outputs,
    stats,
    tiny_dit,
)


def test_a_fresh_network_predicts_zero_noise_with_the_chunk_shape():
    policy = tiny_dit()
    obs = observation(batch=3)
    condition = policy.encode(obs)
    assert condition.shape == (3, 32)
    noisy = torch.randn(3, FEATURES.horizon, FEATURES.action_dim)
    out = policy.net(noisy, torch.tensor([0, 50, 99]), condition)
    assert out.shape == (3, FEATURES.horizon, FEATURES.action_dim)
    assert torch.count_nonzero(out) == 0  # adaLN-Zero gates and the output layer start at zero


def test_predicted_chunks_have_the_feature_shape_and_stay_in_the_training_range():
    policy = tiny_dit()
    randomize_outputs(policy)
    for sampler, steps in (("ddpm", None), ("ddim", 10), ("dpmsolver", 5)):
        chunk = policy.predict_chunk(observation(batch=2), sampler=sampler, steps=steps)
        assert chunk.shape == (2, FEATURES.horizon, FEATURES.action_dim)
        assert chunk.abs().max() <= 2.0 + 1e-5  # the action stats span [-2, 2]


def test_padded_task_state_numbers_are_ignored():
    policy = tiny_dit()
    randomize_outputs(policy)
    obs = observation(batch=2)
    altered = {k: v.clone() for k, v in obs.items()}
    altered["environment_state"][..., -1] = 123.0  # a padded slot: mask 0
    assert torch.allclose(policy.encode(obs), policy.encode(altered))
    altered["environment_state"][..., 0] += 1.0  # a real slot
    assert not torch.allclose(policy.encode(obs), policy.encode(altered))


def test_observation_shapes_are_checked_by_name():
    policy = tiny_dit()
    obs = observation()
    obs["state"] = obs["state"][:, :1]
    with pytest.raises(ValueError, match="'state' has shape"):
        policy.encode(obs)
    obs = observation()
    del obs["language"]
    with pytest.raises(ValueError, match="language"):
        policy.encode(obs)


def test_the_noise_schedule_is_the_100_step_cosine_schedule():
    policy = tiny_dit()
    scheduler = policy.noise_scheduler
    assert scheduler.config.num_train_timesteps == 100
    assert scheduler.config.prediction_type == "epsilon"
    alpha_bar = scheduler.alphas_cumprod.double()

    def cosine(t: float) -> float:  # Nichol & Dhariwal 2021, offset 0.008
        return math.cos((t / 100 + 0.008) / 1.008 * math.pi / 2) ** 2

    for k in (0, 10, 50, 90):
        expected = cosine(k + 1) / cosine(0)
        assert alpha_bar[k].item() == pytest.approx(expected, rel=1e-3, abs=1e-6)
    assert torch.all(alpha_bar[1:] < alpha_bar[:-1])
    assert alpha_bar[-1] < 1e-3


def test_few_step_samplers_call_the_network_that_many_times():
    policy = tiny_dit()
    calls = []
    policy.net.register_forward_hook(lambda *a: calls.append(1))
    for sampler, steps in (("ddim", 10), ("dpmsolver", 5), ("ddpm", None)):
        calls.clear()
        policy.predict_chunk(observation(batch=1), sampler=sampler, steps=steps)
        assert len(calls) == (steps or 100)


def test_the_observation_is_encoded_once_per_chunk():
    policy = tiny_dit()
    calls = []
    policy.encoder.register_forward_hook(lambda *a: calls.append(1))
    policy.predict_chunk(observation(batch=1), sampler="ddim", steps=10)
    assert len(calls) == 1


def test_guidance_scale_one_is_plain_conditional_sampling():
    policy = tiny_dit()
    randomize_outputs(policy)
    obs = observation(batch=2)

    def sample(scale: float) -> torch.Tensor:
        generator = torch.Generator().manual_seed(7)
        return policy.predict_chunk(obs, generator=generator, guidance_scale=scale)

    plain, nearly_one, strong = sample(1.0), sample(1.0 + 1e-6), sample(3.0)
    assert torch.allclose(plain, nearly_one, atol=1e-4)  # the guided path at w -> 1
    assert not torch.allclose(plain, strong, atol=1e-3)


def test_condition_dropout_trains_the_null_embedding():
    policy = tiny_dit(condition_drop=0.5)
    randomize_outputs(policy)
    policy.train()
    loss = policy.compute_loss(batch_with_actions(batch=16), torch.Generator().manual_seed(0))
    loss.backward()
    assert policy.null_condition.grad is not None
    assert torch.count_nonzero(policy.null_condition.grad) > 0


def test_without_condition_dropout_the_null_embedding_stays_in_the_graph():
    """DistributedDataParallel fails a step whose graph leaves a parameter out."""
    policy = tiny_dit(condition_drop=0.0)
    policy.train()
    policy.compute_loss(batch_with_actions(batch=4), torch.Generator().manual_seed(0)).backward()
    assert policy.null_condition.grad is not None
    assert torch.count_nonzero(policy.null_condition.grad) == 0


def test_sampling_runs_with_the_weights_off_the_cpu():
    """CUDA's case (`robostack bench policy` on a GPU), the meta device standing in: the
    schedulers keep their timesteps on the CPU."""
    policy = tiny_dit().to("meta")
    obs = {name: value.to("meta") for name, value in observation(batch=1).items()}
    for sampler, steps in (("ddpm", None), ("ddim", 10), ("dpmsolver", 5)):
        for scale in (1.0, 2.0):
            chunk = policy.predict_chunk(obs, sampler=sampler, steps=steps, guidance_scale=scale)
            assert chunk.device.type == "meta"
            assert chunk.shape == (1, FEATURES.horizon, FEATURES.action_dim)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="sampler"):
        DiTConfig(features=FEATURES, sampler="euler")
    with pytest.raises(ValueError, match="sampling_steps"):
        DiTConfig(features=FEATURES, sampling_steps=0)
    with pytest.raises(ValueError, match="divisible"):
        DiTConfig(features=FEATURES, d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="proprioception"):
        DiTConfig(features=FEATURES, proprioception="velocities")


def test_timestep_embedding_is_sinusoidal():
    emb = timestep_embedding(torch.tensor([0, 5]), 8)
    assert emb.shape == (2, 8)
    assert torch.allclose(emb[0], torch.tensor([1.0] * 4 + [0.0] * 4))


PIXELS = dataclasses.replace(FEATURES, environment_dim=0, cameras=(("front", 32, 40),))


def test_a_pixel_policy_takes_proprioception_images_and_language_and_no_object_state():
    policy = tiny_dit(features=PIXELS, image_width=8, keypoints=4)
    randomize_outputs(policy)
    policy.eval()
    obs = observation(batch=2, features=PIXELS)
    assert "environment_state" not in obs and "images.front" in obs
    before = policy.encode(obs)
    assert before.shape == (2, 32)
    obs["images.front"] = torch.rand(2, PIXELS.obs_horizon, 3, 32, 40)
    assert not torch.allclose(before, policy.encode(obs))  # the image is seen
    assert policy.predict_chunk(obs, steps=2).shape == (2, FEATURES.horizon, FEATURES.action_dim)
    del obs["images.front"]
    with pytest.raises(ValueError, match=r"images\.front"):
        policy.encode(obs)
    obs["images.front"] = torch.rand(2, PIXELS.obs_horizon, 3, 32, 32)  # another resolution
    with pytest.raises(ValueError, match=r"images\.front.*expected"):
        policy.encode(obs)


def test_a_policy_reading_positions_ignores_the_joint_velocities():
    # dof 2: state = q (2), dq (2), gripper width, tool position (3)
    features = dataclasses.replace(PIXELS, state_dim=8)
    for proprioception, sees_velocities in (("full", True), ("positions", False)):
        policy = tiny_dit(features=features, image_width=8, proprioception=proprioception)
        randomize_outputs(policy)
        policy.eval()
        obs = observation(batch=2, features=features)
        before = policy.encode(obs)
        moving = {**obs, "state": obs["state"].clone()}
        moving["state"][..., 2:4] += 1.0
        assert torch.allclose(before, policy.encode(moving)) is not sees_velocities
        moved = {**obs, "state": obs["state"].clone()}
        moved["state"][..., [0, 1, 4, 5, 6, 7]] += 1.0
        assert not torch.allclose(before, policy.encode(moved))


def test_training_crops_at_random_and_inference_crops_the_centre():
    policy = tiny_dit(features=PIXELS, image_width=8, keypoints=4, crop_ratio=0.75)
    randomize_outputs(policy)
    obs = observation(batch=2, features=PIXELS)
    policy.eval()
    assert torch.equal(policy.encode(obs), policy.encode(obs))
    assert policy.encoder.crops == {"front": (24, 30)}
    images = torch.arange(4 * 2 * 32 * 40, dtype=torch.float32).view(4, 2, 1, 32, 40)
    centre = crop(images, (24, 30), random=False)
    assert torch.equal(centre, images[..., 4:28, 5:35])
    drawn = [
        crop(images, (24, 30), random=True, generator=torch.Generator().manual_seed(s))
        for s in (0, 0, 1)
    ]
    assert drawn[0].shape == (4, 2, 1, 24, 30) and torch.equal(drawn[0], drawn[1])
    assert not torch.equal(drawn[0], drawn[2])
    # one window per sample, the same for its steps: step 1 is step 0 shifted by a whole image
    assert torch.equal(drawn[0][:, 1] - drawn[0][:, 0], torch.full_like(drawn[0][:, 0], 32 * 40))


def test_the_image_normalization_is_kept_in_the_checkpoint(tmp_path):
    from robostack.policies.checkpoint import load_policy, save_checkpoint

    policy = tiny_dit(features=PIXELS, image_width=8, keypoints=4)
    stats = policy.stats()
    stats["images.front"] = {"mean": [0.2, 0.4, 0.6], "std": [0.1, 0.2, 0.3]}
    policy = DiTPolicy(policy.config, stats)
    save_checkpoint(policy, tmp_path / "ckpt")
    loaded = load_policy(tmp_path / "ckpt")
    for key in ("mean", "std"):
        assert loaded.stats()["images.front"][key] == pytest.approx(stats["images.front"][key])
    assert loaded.features.cameras == (("front", 32, 40),)
    obs = observation(batch=1, features=PIXELS)
    loaded.eval(), policy.eval()
    assert torch.allclose(loaded.encode(obs), policy.encode(obs))


def _probed(width: int = 3) -> DiTPolicy:
    """A tiny pixel DiT with a probe of ``width`` object-state numbers, each in [-1, 1] m."""
    torch.manual_seed(0)
    config = DiTConfig(
        features=PIXELS, d_model=32, n_layers=1, n_obs_layers=1, image_width=8, keypoints=4
    )
    config = dataclasses.replace(config, probe_dim=width)
    span = {"min": [-1.0] * width, "max": [1.0] * width}
    return DiTPolicy(config, {**stats(PIXELS), "probe": span})


def _probe_batch() -> dict:
    batch = observation(batch=4, features=PIXELS)
    batch["action"] = torch.randn(4, PIXELS.horizon, PIXELS.action_dim)
    batch["probe_state"] = torch.randn(4, 3)
    batch["probe_mask"] = torch.tensor([1.0, 1.0, 0.0]).expand(4, 3)  # the last is padding
    return batch


def test_the_probe_learns_the_real_object_state_numbers_and_not_the_padding():
    policy = _probed()
    randomize_outputs(policy)
    batch = _probe_batch()

    def loss(batch) -> float:
        return policy.compute_loss(batch, torch.Generator().manual_seed(0)).item()

    base = loss(batch)
    padded = {**batch, "probe_state": batch["probe_state"].clone()}
    padded["probe_state"][:, 2] += 5.0
    real = {**batch, "probe_state": batch["probe_state"].clone()}
    real["probe_state"][:, 0] += 5.0
    assert loss(padded) == base and loss(real) > base
    with pytest.raises(ValueError, match="the batch has none"):
        policy.compute_loss({k: v for k, v in batch.items() if not k.startswith("probe")})
    with pytest.raises(ValueError, match="predicts 3 numbers, the batch's object state has 2"):
        policy.compute_loss({**batch, "probe_state": batch["probe_state"][:, :2]})


def test_the_probe_and_its_normalization_are_kept_in_the_checkpoint(tmp_path):
    from robostack.policies.checkpoint import load_policy, save_checkpoint

    policy = _probed()
    randomize_outputs(policy)
    save_checkpoint(policy, tmp_path / "ckpt")
    loaded = load_policy(tmp_path / "ckpt")
    assert loaded.stats()["probe"] == policy.stats()["probe"]
    assert torch.equal(loaded.probe.weight, policy.probe.weight)
    with pytest.raises(ValueError, match="stats lack 'probe'"):
        DiTPolicy(policy.config, stats(PIXELS))
    with pytest.raises(ValueError, match="probe_dim is for a policy that takes no object state"):
        tiny_dit(probe_dim=3)  # FEATURES hold 4 object-state numbers as an input
