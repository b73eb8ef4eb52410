"""Min-max normalization of policy inputs and actions to [-1, 1], per dimension."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

MIN_RANGE = 1e-4  # a dimension that varies less than this is constant: it maps to 0


class MinMaxNormalizer(nn.Module):
    """x -> 2 (x - lo) / (hi - lo) - 1 per dimension (the last axis); constant dimensions -> 0.

    Args:
        lo, hi: (n,) the dataset's per-dimension minimum and maximum.
    """

    def __init__(self, lo: np.ndarray, hi: np.ndarray):
        super().__init__()
        lo, hi = np.asarray(lo, np.float32), np.asarray(hi, np.float32)
        if lo.shape != hi.shape or lo.ndim != 1:
            raise ValueError(f"lo and hi must both be (n,), got {lo.shape} and {hi.shape}")
        if not np.all(np.isfinite(lo) & np.isfinite(hi) & (hi >= lo)):
            raise ValueError("normalization stats must be finite with hi >= lo")
        span = hi - lo
        constant = span < MIN_RANGE
        scale = np.where(constant, 0.0, 2.0 / np.where(constant, 1.0, span))
        centre = (lo + hi) / 2
        self.register_buffer("scale", torch.from_numpy(scale.astype(np.float32)), persistent=False)
        self.register_buffer("centre", torch.from_numpy(centre), persistent=False)
        self.register_buffer("half_span", torch.from_numpy(span / 2), persistent=False)
        self.lo, self.hi = lo, hi

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.centre) * self.scale

    def unnormalize(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.half_span + self.centre

    def stats(self) -> dict[str, list[float]]:
        return {"min": self.lo.tolist(), "max": self.hi.tolist()}

    @classmethod
    def from_stats(cls, stats: dict) -> MinMaxNormalizer:
        return cls(np.asarray(stats["min"]), np.asarray(stats["max"]))

    @classmethod
    def for_key(cls, stats: dict[str, dict], key: str, size: int, what: str) -> MinMaxNormalizer:
        """``stats[key]`` ({"min", "max"}) as a normalizer of ``size`` dimensions; ValueError
        naming ``key`` where it is missing, malformed or of another size than ``what`` says."""
        if key not in stats:
            raise ValueError(f"normalization stats lack {key!r}")
        try:
            normalizer = cls.from_stats(stats[key])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"normalization stats for {key!r}: {error}") from error
        if normalizer.lo.shape != (size,):
            raise ValueError(
                f"normalization stats for {key!r} have {normalizer.lo.shape[0]} dimensions, "
                f"{what} {size}"
            )
        return normalizer


class ChannelNormalizer(nn.Module):
    """Images (..., C, H, W) in [0, 1] -> (x - mean) / std per channel.

    Args:
        mean, std: (C,) the training images' per-channel mean and standard deviation.
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        mean, std = np.asarray(mean, np.float32).ravel(), np.asarray(std, np.float32).ravel()
        if mean.shape != std.shape or not np.all(np.isfinite(mean) & (std > 0)):
            raise ValueError("image stats need finite means and positive deviations, one each")
        shape = (-1, 1, 1)
        self.register_buffer("mean", torch.from_numpy(mean).view(shape), persistent=False)
        self.register_buffer("std", torch.from_numpy(std).view(shape), persistent=False)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def stats(self) -> dict[str, list[float]]:
        return {"mean": self.mean.ravel().tolist(), "std": self.std.ravel().tolist()}

    @classmethod
    def from_stats(cls, stats: dict) -> ChannelNormalizer:
        return cls(np.asarray(stats["mean"]), np.asarray(stats["std"]))
