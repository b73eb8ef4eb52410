import torch

from tests.policies.helpers import FEATURES, batch_with_actions, observation, tiny_mlp


def test_mlp_regresses_a_chunk_of_the_feature_shape_deterministically():
    policy = tiny_mlp().eval()
    obs = observation(batch=3)
    chunk = policy.predict_chunk(obs)
    assert chunk.shape == (3, FEATURES.horizon, FEATURES.action_dim)
    assert torch.equal(chunk, policy.predict_chunk(obs))  # no sampling: one answer


def test_mlp_loss_is_a_scalar_with_gradients():
    policy = tiny_mlp()
    loss = policy.compute_loss(batch_with_actions())
    loss.backward()
    assert loss.ndim == 0 and all(p.grad is not None for p in policy.parameters())
