"""Small policies and observations for tests (no dataset, no simulator)."""

from __future__ import annotations

import torch

from robostack.policies.dit import DiTConfig, DiTPolicy
from robostack.policies.features import PolicyFeatures
from robostack.policies.mlp import MLPConfig, MLPPolicy

FEATURES = PolicyFeatures(state_dim=5, environment_dim=4, action_dim=3, language_dim=8)


def stats(features: PolicyFeatures = FEATURES) -> dict:
    def span(n: int) -> dict:
        return {"min": [-2.0] * n, "max": [2.0] * n}

    out = {
        "state": span(features.state_dim),
        "language": span(features.language_dim),
        "action": span(features.action_dim),
    }
    if features.environment_dim:
        out["environment_state"] = span(features.environment_dim)
    for name, _, _ in features.cameras:
        out[f"images.{name}"] = {"mean": [0.5] * 3, "std": [0.25] * 3}
    return out


def tiny_dit(**overrides) -> DiTPolicy:
    torch.manual_seed(0)
    config = DiTConfig(features=FEATURES, d_model=32, n_heads=4, n_layers=2, n_obs_layers=1)
    config = DiTConfig(**{**config.__dict__, **overrides})
    return DiTPolicy(config, stats(config.features))


def tiny_mlp() -> MLPPolicy:
    torch.manual_seed(0)
    return MLPPolicy(MLPConfig(features=FEATURES, hidden=32, layers=2), stats())


def randomize_outputs(policy: torch.nn.Module, seed: int = 1) -> None:
    """Give the zero-initialized layers random weights, so outputs depend on the inputs."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in policy.parameters():
            if torch.count_nonzero(p) == 0:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.1)


def observation(batch: int = 2, seed: int = 0, features: PolicyFeatures = FEATURES) -> dict:
    g = torch.Generator().manual_seed(seed)
    f = features
    obs = {
        "state": torch.randn(batch, f.obs_horizon, f.state_dim, generator=g),
        "language": torch.randn(batch, f.language_dim, generator=g),
    }
    if f.environment_dim:
        mask = torch.ones(batch, f.environment_dim)
        mask[:, -1] = 0.0  # the last task-state number is padding
        environment = torch.randn(batch, f.obs_horizon, f.environment_dim, generator=g)
        obs["environment_state"] = environment * mask[:, None, :]
        obs["environment_mask"] = mask
    for name, height, width in f.cameras:
        obs[f"images.{name}"] = torch.rand(batch, f.obs_horizon, 3, height, width, generator=g)
    return obs


def batch_with_actions(batch: int = 4, seed: int = 0) -> dict:
    obs = observation(batch, seed)
    g = torch.Generator().manual_seed(seed + 1)
    obs["action"] = torch.randn(batch, FEATURES.horizon, FEATURES.action_dim, generator=g)
    return obs


def demonstrations(episodes: int = 4, length: int = 30, seed: int = 0):
    """`TrainingData` of smooth synthetic demonstrations in the `FEATURES` layout: each episode
    moves its actions towards a goal given as task state (one goal per episode)."""
    from robostack.policies.training.data import TrainingData, task_weighted_windows

    g = torch.Generator().manual_seed(seed)
    f = FEATURES
    states, envs, actions, obs_index, action_index = [], [], [], [], []
    for e in range(episodes):
        goal = torch.rand(f.action_dim, generator=g) * 2 - 1
        s = torch.linspace(0, 1, length)[:, None]
        path = goal * (3 * s**2 - 2 * s**3)
        actions.append(path)
        states.append(torch.cat([path, torch.zeros(length, f.state_dim - f.action_dim)], 1))
        env = torch.zeros(length, f.environment_dim)
        env[:, : f.action_dim] = goal
        envs.append(env)
        base = e * length
        i = torch.arange(length)[:, None]
        obs_index.append(
            base + (i - f.obs_horizon + 1 + torch.arange(f.obs_horizon)).clamp(0, length - 1)
        )
        action_index.append(base + (i + torch.arange(f.horizon)).clamp(max=length - 1))
    n = episodes * length
    mask = torch.zeros(n, f.environment_dim)
    mask[:, : f.action_dim] = 1.0
    return TrainingData(
        state=torch.cat(states),
        environment_state=torch.cat(envs),
        environment_mask=mask,
        language=torch.ones(n, f.language_dim) / f.language_dim**0.5,
        action=torch.cat(actions),
        obs_index=torch.cat(obs_index),
        action_index=torch.cat(action_index),
        window_weight=task_weighted_windows(["synthetic"] * n, {}),
        robot="synthetic",
        tasks={"synthetic": {"environment_dim": f.action_dim, "episodes": episodes}},
    )
