"""Evaluation statistics: binomial confidence intervals and chunk diversity."""

from __future__ import annotations

import math

import numpy as np


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95 % for z = 1.96) for a success rate; (0, 1) with no trials."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_pairwise_distance(chunks: np.ndarray) -> float:
    """Mean over pairs i < j of the RMS distance between chunks (K, Tp, D): how far apart
    K samples for one observation are, in the chunk's units (rad for joints)."""
    k = chunks.shape[0]
    if k < 2:
        return 0.0
    flat = chunks.reshape(k, -1)
    distances = [
        math.sqrt(np.mean((flat[i] - flat[j]) ** 2)) for i in range(k) for j in range(i + 1, k)
    ]
    return float(np.mean(distances))
