"""Observation tokens -> one pooled conditioning vector (run once per chunk, not per step).

Tokens: one per observation step for proprioception, one per step for the task/object state
(values and their padding mask), one for the language-goal embedding, and with cameras one per
step from `ImageEncoder`. Each gets a modality embedding and a step embedding; a small
transformer mixes them and their mean is the observation embedding (B, d_model).
"""

from __future__ import annotations

import torch
from torch import nn

from robostack.policies.features import PolicyFeatures


class ImageEncoder(nn.Module):
    """(N, 3, H, W) images in [0, 1] -> (N, d_model): four stride-2 convolutions, mean pool."""

    def __init__(self, d_model: int, channels: int = 32):
        super().__init__()
        layers, width = [], 3
        for _ in range(4):
            layers += [
                nn.Conv2d(width, channels, 3, stride=2, padding=1),
                nn.GroupNorm(8, channels),
                nn.SiLU(),
            ]
            width = channels
        self.convs = nn.Sequential(*layers)
        self.project = nn.Linear(channels, d_model)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.project(self.convs(images * 2.0 - 1.0).mean(dim=(2, 3)))


class ObservationEncoder(nn.Module):
    """Normalized observation dict (`robostack.policies.features` shapes) -> (B, d_model)."""

    def __init__(self, features: PolicyFeatures, d_model: int, n_heads: int, n_layers: int):
        super().__init__()
        f = features
        self.state = nn.Linear(f.state_dim, d_model)
        # values and mask; no token without object state
        self.environment = nn.Linear(2 * f.environment_dim, d_model) if f.environment_dim else None
        self.language = nn.Linear(f.language_dim, d_model)
        self.image = ImageEncoder(d_model) if f.image_size else None
        modalities = 4 if f.image_size else 3
        self.modality = nn.Parameter(torch.randn(modalities, d_model) * 0.02)
        self.step = nn.Parameter(torch.randn(f.obs_horizon, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, 4 * d_model, dropout=0.0, batch_first=True, norm_first=True
        )
        self.mixer = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        state, environment = obs["state"], obs["environment_state"]
        tokens = [self.state(state) + self.modality[0] + self.step]
        if self.environment is not None:
            mask = obs["environment_mask"][:, None, :].expand_as(environment)
            values = torch.cat([environment, mask], dim=-1)
            tokens.append(self.environment(values) + self.modality[1] + self.step)
        tokens.append((self.language(obs["language"]) + self.modality[2])[:, None, :])
        if self.image is not None:
            images = obs["image"]
            batch, steps = images.shape[:2]
            encoded = self.image(images.flatten(0, 1)).view(batch, steps, -1)
            tokens.append(encoded + self.modality[3] + self.step)
        return self.norm(self.mixer(torch.cat(tokens, dim=1)).mean(dim=1))
