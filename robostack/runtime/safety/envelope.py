"""The fast path of the safety monitor: every per-tick limit as one affine map.

Each check of a RUNNING tick is a bound |(value - centre) / half_width| <= 1 on a linear
combination of a few vectors (q, dq, tau_ext, the reference and the previous one, the torque
and the previous one). Stacking them, y = W x - c, and the tick is within every limit iff
max |y| <= 1. NaN or Inf anywhere propagates into y and fails the test, so the finiteness
checks come for free. One concatenation, one small matrix product and one reduction replace
some twenty numpy calls; only when the test fails does the monitor run its detailed checks to
find which limit broke (the slow path names the check, the joint and the value).
"""

from __future__ import annotations

import numpy as np

from robostack.runtime.safety.config import SafetyConfig

# blocks of x, each (dof,)
_Q, _DQ, _TAU_EXT, _RQ, _RDQ, _RDDQ, _PREV_RQ, _PREV_RDDQ, _TAU, _PREV_TAU = range(10)


class Envelope:
    """``within(...)`` is True iff no per-tick limit of ``config`` is touched (nor any NaN)."""

    def __init__(self, config: SafetyConfig):
        spec = config.spec
        n = spec.dof
        dt = spec.dt
        tol = config.reference_tolerance
        soft_lo = spec.q_min + config.position_soft_margin
        soft_hi = spec.q_max - config.position_soft_margin
        # rows: (terms as (block, sign)), centre, half width
        rows = [
            ([(_Q, 1)], (soft_hi + soft_lo) / 2, (soft_hi - soft_lo) / 2),  # soft zone
            ([(_DQ, 1)], 0, spec.dq_max * config.velocity_fraction),  # velocity
            ([(_RQ, 1), (_Q, -1)], 0, np.full(n, config.tracking_error_max)),  # tracking
            ([(_TAU_EXT, 1)], 0, config.collision_torque),  # collision
            ([(_RQ, 1)], (spec.q_max + spec.q_min) / 2, (spec.q_max - spec.q_min) / 2),
            ([(_RDQ, 1)], 0, spec.dq_max * tol),  # reference velocity
            ([(_RDDQ, 1)], 0, spec.ddq_max * tol),  # reference acceleration
            ([(_RQ, 1), (_PREV_RQ, -1)], 0, spec.dq_max * tol * dt),  # reference step
            ([(_RDDQ, 1), (_PREV_RDDQ, -1)], 0, spec.dddq_max * tol * dt),  # reference jerk
            ([(_TAU, 1)], 0, spec.tau_max),  # torque
            ([(_TAU, 1), (_PREV_TAU, -1)], 0, np.full(n, spec.dtau_max * dt)),  # torque rate
        ]
        self.W = np.zeros((len(rows) * n, 10 * n))
        self.c = np.zeros(len(rows) * n)
        eye = np.eye(n)
        for r, (terms, centre, half) in enumerate(rows):
            scale = 1.0 / np.broadcast_to(np.asarray(half, dtype=float), (n,))
            for block, sign in terms:
                self.W[r * n : (r + 1) * n, block * n : (block + 1) * n] = sign * eye * scale
            self.c[r * n : (r + 1) * n] = np.asarray(centre, dtype=float) * scale
        self._zero = np.zeros(n)

    def within(self, q, dq, tau_ext, rq, rdq, rddq, prev_rq, prev_rddq, tau, prev_tau) -> bool:
        """All arguments (dof,); ``tau_ext`` may be None (no torque sensing)."""
        x = np.concatenate(
            (
                q,
                dq,
                self._zero if tau_ext is None else tau_ext,
                rq,
                rdq,
                rddq,
                prev_rq,
                prev_rddq,
                tau,
                prev_tau,
            )
        )
        y = self.W @ x
        y -= self.c
        return bool(np.abs(y, out=y).max() <= 1.0)  # NaN compares False
