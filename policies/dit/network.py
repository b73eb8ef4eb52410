"""The DiT noise-prediction network over action-chunk tokens.

One token per chunk waypoint (Tp tokens of A numbers), learned position embeddings, then DiT
blocks: non-causal self-attention and an MLP, each modulated by adaLN-Zero (shift, scale and a
gate regressed from the conditioning vector, the gate starting at zero so every block starts as
the identity). The conditioning vector is the sinusoidal diffusion-timestep embedding plus the
pooled observation embedding. The output layer starts at zero.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def timestep_embedding(timesteps: torch.Tensor, dim: int, max_period: float = 10000.0):
    """(B,) integer diffusion steps -> (B, dim) sinusoidal features."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = timesteps.float()[:, None] * freqs.to(timesteps.device)[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale[:, None, :]) + shift[:, None, :]


class DiTBlock(nn.Module):
    """Self-attention and MLP, each as x + gate * f(modulate(norm(x)))."""

    def __init__(self, d_model: int, n_heads: int, mlp_ratio: int, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model, elementwise_affine=False, eps=1e-6)
        self.attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(d_model, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, mlp_ratio * d_model),
            nn.GELU(approximate="tanh"),
            nn.Dropout(dropout),
            nn.Linear(mlp_ratio * d_model, d_model),
        )
        self.ada_ln = nn.Sequential(nn.SiLU(), nn.Linear(d_model, 6 * d_model))
        nn.init.zeros_(self.ada_ln[1].weight)
        nn.init.zeros_(self.ada_ln[1].bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada_ln(c).chunk(6, dim=-1)
        h = modulate(self.norm1(x), shift1, scale1)
        x = x + gate1[:, None, :] * self.attn(h, h, h, need_weights=False)[0]
        h = modulate(self.norm2(x), shift2, scale2)
        return x + gate2[:, None, :] * self.mlp(h)


class DiTNoiseNet(nn.Module):
    """(noisy chunk (B, Tp, A), diffusion step (B,), condition (B, d)) -> noise (B, Tp, A)."""

    def __init__(
        self,
        *,
        action_dim: int,
        horizon: int,
        d_model: int,
        n_heads: int,
        n_layers: int,
        mlp_ratio: int,
        dropout: float,
    ):
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Linear(action_dim, d_model)
        self.position = nn.Parameter(torch.randn(horizon, d_model) * 0.02)
        self.time = nn.Sequential(
            nn.Linear(d_model, d_model), nn.SiLU(), nn.Linear(d_model, d_model)
        )
        self.blocks = nn.ModuleList(
            DiTBlock(d_model, n_heads, mlp_ratio, dropout) for _ in range(n_layers)
        )
        self.final_norm = nn.LayerNorm(d_model, elementwise_affine=False, eps=1e-6)
        self.final_ada_ln = nn.Sequential(nn.SiLU(), nn.Linear(d_model, 2 * d_model))
        self.out = nn.Linear(d_model, action_dim)
        for layer in (self.final_ada_ln[1], self.out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, condition: torch.Tensor
    ) -> torch.Tensor:
        # a scheduler keeps its timesteps on the CPU: bring them to the weights (CUDA)
        timesteps = timesteps.to(noisy.device)
        c = self.time(timestep_embedding(timesteps, self.d_model)) + condition
        x = self.embed(noisy) + self.position
        for block in self.blocks:
            x = block(x, c)
        shift, scale = self.final_ada_ln(c).chunk(2, dim=-1)
        return self.out(modulate(self.final_norm(x), shift, scale))
