"""Latency summaries for the process split's reports."""

from __future__ import annotations

import numpy as np


def percentiles(values) -> dict | None:
    """{"p50", "p99"} of ``values`` (e.g. latencies, ms), or None when there are none."""
    if len(values) == 0:
        return None
    return {"p50": float(np.median(values)), "p99": float(np.percentile(values, 99))}
