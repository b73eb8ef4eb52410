"""From trajectory chunks at the policy rate to a C2 joint reference at the control rate.

Each chunk becomes a piecewise quintic Hermite spline through its waypoints: node velocities
and accelerations are central finite differences, and the last node has zero velocity and
acceleration, so a chunk that is not followed by another ends at rest and holds there.
A new chunk is blended in from the current reference over ``blend_time`` with the quintic
smoothstep w(tau) = 10 tau^3 - 15 tau^4 + 6 tau^5, whose first and second derivatives vanish
at both ends; the reference therefore has no jump in position, velocity or acceleration.
"""

from __future__ import annotations

import abc

import numpy as np

from robostack.types import JointReference, TrajectoryChunk


class Trajectory(abc.ABC):
    """A C2 joint trajectory defined for all times."""

    @abc.abstractmethod
    def evaluate(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return q (dof,) rad, dq (dof,) rad/s and ddq (dof,) rad/s^2 at time ``t`` s."""

    def gripper(self, t: float) -> float | None:
        """Gripper width target at ``t``, m, or None."""
        return None


class Hold(Trajectory):
    """Stand still at ``q`` (dof,) rad."""

    def __init__(self, q: np.ndarray, gripper: float | None = None):
        self.q = np.array(q, dtype=float)
        self._zero = np.zeros_like(self.q)
        self._gripper = gripper

    def evaluate(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.q, self._zero, self._zero

    def gripper(self, t: float) -> float | None:
        return self._gripper


class Coast(Trajectory):
    """Continue from ``q`` (dof,) rad at constant velocity ``dq`` (dof,) rad/s from ``t0`` s."""

    def __init__(self, q: np.ndarray, dq: np.ndarray, t0: float):
        self.q, self.dq, self.t0 = np.array(q, dtype=float), np.array(dq, dtype=float), t0
        self._zero = np.zeros_like(self.q)

    def evaluate(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.q + self.dq * (t - self.t0), self.dq, self._zero


class ChunkSpline(Trajectory):
    """Quintic Hermite spline through a chunk's waypoints; holds the last one afterwards.

    Before ``chunk.t0`` the first segment's polynomial is extended (smoothly).
    """

    def __init__(self, chunk: TrajectoryChunk):
        self.t0, self.h = chunk.t0, chunk.dt
        p = chunk.q
        n = p.shape[0]
        v = np.zeros_like(p)
        a = np.zeros_like(p)
        v[0] = (p[1] - p[0]) / self.h
        v[1:-1] = (p[2:] - p[:-2]) / (2 * self.h)
        a[1:-1] = (p[2:] - 2 * p[1:-1] + p[:-2]) / self.h**2
        # v[-1] = a[-1] = 0: the chunk ends at rest. a[0] = 0 (the start is blended in anyway).
        h = self.h
        p0, p1, v0, v1, a0, a1 = p[:-1], p[1:], v[:-1] * h, v[1:] * h, a[:-1] * h**2, a[1:] * h**2
        P = p1 - p0 - v0 - 0.5 * a0
        V = v1 - v0 - a0
        A = a1 - a0
        coeffs = np.stack(
            [
                p0,
                v0,
                0.5 * a0,
                10 * P - 4 * V + 0.5 * A,
                -15 * P + 7 * V - A,
                6 * P - 3 * V + 0.5 * A,
            ],
            axis=1,
        )  # (n - 1, 6, dof): q(s) = sum_k c_k s^k on each segment, s in [0, 1)
        k = np.arange(6, dtype=float)[None, :, None]
        self._cq = coeffs
        self._cdq = (k[:, 1:] * coeffs[:, 1:]) / h
        self._cddq = (k[:, 2:] * (k[:, 2:] - 1) * coeffs[:, 2:]) / h**2
        self._segments = n - 1
        self._end = p[-1].copy()
        self._zero = np.zeros_like(self._end)
        self._gripper = chunk.gripper

    def evaluate(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = (t - self.t0) / self.h
        if x >= self._segments:
            return self._end, self._zero, self._zero
        seg = max(int(x), 0)
        s = x - seg
        s2 = s * s
        s3 = s2 * s
        powers = np.array([1.0, s, s2, s3, s3 * s, s3 * s2])
        return (
            powers @ self._cq[seg],
            powers[:5] @ self._cdq[seg],
            powers[:4] @ self._cddq[seg],
        )

    def gripper(self, t: float) -> float | None:
        if self._gripper is None:
            return None
        i = min(max(int((t - self.t0) / self.h + 0.5), 0), self._segments)
        return float(self._gripper[i])


class Blend(Trajectory):
    """Move from ``old`` to ``new`` over [t_start, t_start + duration] with a quintic smoothstep."""

    def __init__(self, old: Trajectory, new: Trajectory, t_start: float, duration: float):
        self.old, self.new, self.t_start, self.duration = old, new, t_start, duration

    def evaluate(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tau = (t - self.t_start) / self.duration
        if tau >= 1.0:
            return self.new.evaluate(t)
        qn, dqn, ddqn = self.new.evaluate(t)
        qo, dqo, ddqo = self.old.evaluate(t)
        if tau <= 0.0:
            return qo, dqo, ddqo
        T = self.duration
        w = tau**3 * (10 - 15 * tau + 6 * tau**2)
        dw = 30 * tau**2 * (1 - tau) ** 2 / T
        ddw = 60 * tau * (1 - tau) * (1 - 2 * tau) / T**2
        dq_gap, q_gap = dqn - dqo, qn - qo
        return (
            qo + w * q_gap,
            dqo + w * dq_gap + dw * q_gap,
            ddqo + w * (ddqn - ddqo) + 2 * dw * dq_gap + ddw * q_gap,
        )

    def gripper(self, t: float) -> float | None:
        return self.new.gripper(t)

    def finished(self, t: float) -> bool:
        return t >= self.t_start + self.duration


class ChunkInterpolator:
    """Turns a stream of `TrajectoryChunk` into a C2 `JointReference` per tick.

    Args:
        blend_time: duration of the blend from the current reference to a new chunk, s.
    """

    def __init__(self, *, blend_time: float = 0.1):
        if not blend_time > 0:
            raise ValueError(f"blend_time must be positive, got {blend_time} s")
        self.blend_time = blend_time
        self._active: Trajectory | None = None

    def reset(self, q: np.ndarray, gripper: float | None = None) -> None:
        """Hold still at ``q`` (dof,) rad until the first chunk arrives."""
        self._active = Hold(q, gripper)

    def add_chunk(self, chunk: TrajectoryChunk, t_now: float) -> None:
        """Blend ``chunk`` in starting at ``t_now`` s (the current tick's time)."""
        if self._active is None:
            raise RuntimeError("ChunkInterpolator.reset(q) must be called before add_chunk")
        self._collapse(t_now)
        self._active = Blend(self._active, ChunkSpline(chunk), t_now, self.blend_time)

    def hold(
        self,
        t_now: float,
        *,
        ddq_max: np.ndarray | None = None,
        start: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Come to a smooth stop from the current reference and hold there.

        The reference at ``t_now`` moving at dq is blended into a hold at q + dq T / 2 (where
        a constant deceleration over T would stop). T is at least ``blend_time`` and, given
        ``ddq_max`` (dof,) rad/s^2, T = 4 max|dq| / ddq_max: the blend's own peak deceleration
        is then about 0.6 ddq_max, leaving room for the acceleration the old plan still has.

        ``start`` = (q, dq) replaces the current reference as the point to stop from (used
        when the current reference is corrupt): the stop then blends from a constant-velocity
        coast from that state, which is C1 (the acceleration steps to zero once).
        """
        if start is None:
            q, dq, _ = self._require().evaluate(t_now)
            self._collapse(t_now)
            old = self._active
        else:
            q, dq = start
            old = Coast(q, dq, t_now)
        duration = self.blend_time
        if ddq_max is not None:
            duration = max(duration, 4.0 * float(np.max(np.abs(dq) / ddq_max)))
        self._active = Blend(old, Hold(q + 0.5 * dq * duration), t_now, duration)

    def sample(self, t: float) -> JointReference:
        """Reference at time ``t`` s; ``t`` must not decrease between calls."""
        active = self._require()
        q, dq, ddq = active.evaluate(t)
        return JointReference(q, dq, ddq, active.gripper(t))

    def _collapse(self, t: float) -> None:
        """Drop finished blends so nesting stays shallow."""
        if isinstance(self._active, Blend) and self._active.finished(t):
            self._active = self._active.new

    def _require(self) -> Trajectory:
        if self._active is None:
            raise RuntimeError("ChunkInterpolator.reset(q) must be called before sampling")
        return self._active
