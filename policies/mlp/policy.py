"""`MLPPolicy`: the regression baseline with the DiT's inputs and chunking.

The normalized observation (state and task-state history, padding mask, language embedding) is
flattened into one vector; an MLP regresses the whole normalized chunk (Tp x A) with MSE. Being a
mean-square regressor it predicts the average of the demonstrations for an observation: where
they split into modes (round the obstacle on the left or on the right) it averages them.
"""

from __future__ import annotations

import torch
from torch import nn

from robostack.policies.base import Policy
from robostack.policies.mlp.configuration import MLPConfig


class MLPPolicy(Policy):
    name = "mlp"
    config_class = MLPConfig

    def __init__(self, config: MLPConfig, stats: dict[str, dict]):
        super().__init__(config, stats)
        f = config.features
        width = (
            f.obs_horizon * (f.state_dim + f.environment_dim) + f.environment_dim + f.language_dim
        )
        layers: list[nn.Module] = []
        for _ in range(config.layers):
            layers += [nn.Linear(width, config.hidden), nn.GELU(), nn.Dropout(config.dropout)]
            width = config.hidden
        layers.append(nn.Linear(width, f.horizon * f.action_dim))
        self.mlp = nn.Sequential(*layers)

    def _regress(self, obs) -> torch.Tensor:
        n = self.normalized_observation(obs)
        flat = torch.cat(
            [
                n["state"].flatten(1),
                n["environment_state"].flatten(1),
                n["environment_mask"],
                n["language"],
            ],
            dim=1,
        )
        f = self.features
        return self.mlp(flat).view(-1, f.horizon, f.action_dim)

    def compute_loss(self, batch, generator=None) -> torch.Tensor:
        target = self.normalizers["action"].normalize(batch["action"])
        return nn.functional.mse_loss(self._regress(batch), target)

    @torch.no_grad()
    def predict_chunk(self, obs, *, generator=None, noise=None) -> torch.Tensor:
        return self.normalizers["action"].unnormalize(self._regress(obs).clamp(-1.0, 1.0))
