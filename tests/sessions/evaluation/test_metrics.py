import numpy as np
import pytest

from robostack.sessions.evaluation.metrics import mean_pairwise_distance, wilson_interval


def test_wilson_interval_matches_published_values():
    # 95 % Wilson interval for 95/100: [0.8882, 0.9785] (Newcombe 1998, method 3)
    lo, hi = wilson_interval(95, 100)
    assert lo == pytest.approx(0.8882, abs=1e-4) and hi == pytest.approx(0.9785, abs=1e-4)
    lo, hi = wilson_interval(100, 100)
    assert hi == pytest.approx(1.0) and lo == pytest.approx(0.9630, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_pairwise_distance_is_the_mean_rms_gap_between_samples():
    chunks = np.zeros((3, 4, 2))
    chunks[1] += 1.0
    chunks[2] += 3.0
    assert mean_pairwise_distance(chunks) == pytest.approx((1.0 + 3.0 + 2.0) / 3)
    assert mean_pairwise_distance(chunks[:1]) == 0.0
