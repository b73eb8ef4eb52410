"""The stand-in's gymtorch: zero-copy views between gymapi.Tensor and torch."""

from __future__ import annotations

import torch

from isaacgym.gymapi import Tensor


def wrap_tensor(gym_tensor: Tensor, offsets=None, counts=None) -> torch.Tensor:
    return gym_tensor.data


def unwrap_tensor(torch_tensor: torch.Tensor) -> Tensor:
    if not torch_tensor.is_contiguous():
        raise RuntimeError("Input tensor must be contiguous")
    if torch_tensor.dtype not in (
        torch.float32,
        torch.int32,
        torch.int64,
        torch.uint8,
        torch.int16,
    ):
        raise RuntimeError(f"unsupported dtype {torch_tensor.dtype}")
    return Tensor(torch_tensor)
