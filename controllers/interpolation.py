"""From trajectory chunks at the policy rate to a C2 joint reference at the control rate.

Each chunk becomes a piecewise quintic Hermite spline through its waypoints: node velocities
and accelerations are central finite differences, and the last node has zero velocity and
acceleration, so a chunk that is not followed by another ends at rest and holds there.
A new chunk is blended in from the current reference over ``blend_time`` with the quintic
smoothstep w(tau) = 10 tau^3 - 15 tau^4 + 6 tau^5, whose first and second derivatives vanish
at both ends; the reference therefore has no jump in position, velocity or acceleration.
Given the robot's motion limits, a blend is lengthened (up to `MAX_BLEND_S`) when the new
chunk starts off the current reference (a policy's chunk rarely starts exactly where the arm is
going), so that the blend adds at most `BLEND_BUDGET` of the acceleration and jerk limits.
`slowed_to_limits` makes an untrusted chunk (a policy's) feasible by stretching its waypoint
spacing.
"""

from __future__ import annotations

import abc
from dataclasses import replace

import numpy as np

from robostack.core.types import JointReference, TrajectoryChunk

BLEND_BUDGET = 0.4  # share of the acceleration / jerk limits a blend may add
CHUNK_BUDGET = 0.5  # share of the limits an untrusted chunk's waypoints may ask (slowed_to_limits)
MAX_BLEND_S = 1.0  # a blend never takes longer than this
# bounds of the smoothstep's derivatives in tau: |w'| <= 15/8, |w''| <= 10/sqrt(3), |w'''| <= 60
W1, W2, W3 = 1.875, 5.7735, 60.0


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


def quintic_coefficients(p0, v0, a0, p1, v1, a1) -> np.ndarray:
    """Monomial coefficients (6, ...) of the quintic on s in [0, 1] with the given end values;
    velocities and accelerations are per unit s (scale by the duration T and T^2)."""
    P = p1 - p0 - v0 - 0.5 * a0
    V = v1 - v0 - a0
    A = a1 - a0
    return np.stack(
        [p0, v0, 0.5 * a0, 10 * P - 4 * V + 0.5 * A, -15 * P + 7 * V - A, 6 * P - 3 * V + 0.5 * A]
    )


class Stop(Trajectory):
    """Each joint comes to rest from (q, dq, ddq) at ``t0`` along its own quintic, then holds.

    Joint j stops at q + dq T_j / 2 after T_j = max(min_duration, 3 |dq| / ddq_max): from a
    constant speed v the velocity falls as v (1 - 3 s^2 + 2 s^3), never reversing, and the
    deceleration peaks at 1.5 v / T = 0.5 ddq_max. With ``bounds`` (lo, hi) the rest point is
    kept inside them (the stop is then shorter and harder, as it must be). The gripper target
    stays where it was.
    """

    def __init__(
        self,
        q,
        dq,
        ddq,
        t0: float,
        *,
        ddq_max,
        min_duration: float,
        bounds=None,
        gripper: float | None = None,
    ):
        q, dq, ddq = (np.asarray(x, dtype=float) for x in (q, dq, ddq))
        T = np.maximum(min_duration, 3.0 * np.abs(dq) / ddq_max)
        target = q + 0.5 * dq * T
        if bounds is not None:
            inside = np.clip(target, *bounds)
            shorter = (inside != target) & ((inside - q) * dq > 0)  # still ahead of q
            T = np.where(shorter, np.maximum(2 * (inside - q) / np.where(dq == 0, 1, dq), 1e-3), T)
            target = np.where(shorter, inside, target)
        self.t0, self.T, self.target, self._gripper = t0, T, target, gripper
        self._c = quintic_coefficients(q, dq * T, ddq * T**2, target, 0.0, 0.0)  # (6, dof)
        k = np.arange(6, dtype=float)[:, None]
        self._cdq = k[1:] * self._c[1:] / T
        self._cddq = k[2:] * (k[2:] - 1) * self._c[2:] / T**2

    def evaluate(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = np.clip((t - self.t0) / self.T, 0.0, 1.0)  # (dof,)
        powers = s ** np.arange(6)[:, None]  # (6, dof)
        return (
            (self._c * powers).sum(axis=0),
            (self._cdq * powers[:5]).sum(axis=0),
            (self._cddq * powers[:4]).sum(axis=0),
        )

    def gripper(self, t: float) -> float | None:
        return self._gripper


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
        coeffs = quintic_coefficients(
            p[:-1], v[:-1] * h, a[:-1] * h**2, p[1:], v[1:] * h, a[1:] * h**2
        ).swapaxes(0, 1)  # (n - 1, 6, dof): q(s) = sum_k c_k s^k on each segment, s in [0, 1)
        k = np.arange(6, dtype=float)[None, :, None]
        self._cq = coeffs
        self._cdq = (k[:, 1:] * coeffs[:, 1:]) / h
        self._cddq = (k[:, 2:] * (k[:, 2:] - 1) * coeffs[:, 2:]) / h**2
        self._segments = n - 1
        self._end = p[-1].copy()
        self._zero = np.zeros_like(self._end)
        self._gripper = chunk.gripper

    def peaks(
        self, samples: int = 16, segments: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Largest |velocity| rad/s, |acceleration| rad/s^2 and |jerk| rad/s^3 per joint (dof,)
        over the first ``segments`` segments (all by default), ``samples`` points each."""
        s = np.linspace(0.0, 1.0, samples)
        powers = s[:, None] ** np.arange(6)[None, :]  # (samples, 6)
        k = np.arange(6, dtype=float)[None, :, None]
        cdddq = (k[:, 3:] * (k[:, 3:] - 1) * (k[:, 3:] - 2) * self._cq[:, 3:]) / self.h**3
        return tuple(
            np.abs(np.einsum("sk,nkd->nsd", powers[:, : c.shape[1]], c)).max(axis=(0, 1))
            for c in (self._cdq[:segments], self._cddq[:segments], cdddq[:segments])
        )

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


def slowed_to_limits(
    chunk: TrajectoryChunk,
    limits: tuple[np.ndarray, np.ndarray, np.ndarray],
    budget: float = CHUNK_BUDGET,
    segments: int | None = None,
) -> TrajectoryChunk:
    """``chunk`` with its waypoint spacing stretched by the least factor k >= 1 that brings its
    spline's peak velocity, acceleration and jerk (`ChunkSpline.peaks`) within ``budget`` of
    ``limits`` (dq_max, ddq_max, dddq_max), each (dof,): the same path, followed more slowly
    (stretching time by k scales them exactly by 1/k, 1/k^2, 1/k^3). ``segments``: judge only
    the first ones, those that will run before the next chunk replaces this one (the spline's
    last segment stops the arm, which a chunk that will be replaced never does). A chunk already
    within them is returned as is."""
    factor = 1.0
    peaks = ChunkSpline(chunk).peaks(segments=segments)
    for n, (peak, limit) in enumerate(zip(peaks, limits, strict=True), 1):
        ratio = np.max(peak / (budget * np.asarray(limit)))
        factor = max(factor, ratio ** (1.0 / n))
    return chunk if factor <= 1.0 else replace(chunk, dt=chunk.dt * factor)


class ChunkInterpolator:
    """Turns a stream of `TrajectoryChunk` into a C2 `JointReference` per tick.

    Args:
        blend_time: shortest blend from the current reference to a new chunk, s.
        limits: (dq_max, ddq_max, dddq_max), each (dof,): velocity rad/s, acceleration rad/s^2
            and jerk rad/s^3 limits. When given, blends are lengthened to stay within them.
    """

    def __init__(
        self,
        *,
        blend_time: float = 0.1,
        limits: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ):
        if not blend_time > 0:
            raise ValueError(f"blend_time must be positive, got {blend_time} s")
        self.blend_time = blend_time
        self.limits = None if limits is None else tuple(np.asarray(x, float) for x in limits)
        self._active: Trajectory | None = None

    def reset(self, q: np.ndarray, gripper: float | None = None) -> None:
        """Hold still at ``q`` (dof,) rad until the first chunk arrives."""
        self._active = Hold(q, gripper)

    def add_chunk(self, chunk: TrajectoryChunk, t_now: float) -> None:
        """Blend ``chunk`` in starting at ``t_now`` s (the current tick's time)."""
        if self._active is None:
            raise RuntimeError("ChunkInterpolator.reset(q) must be called before add_chunk")
        self._collapse(t_now)
        new = ChunkSpline(chunk)
        duration = self.blend_duration(self._active, new, t_now)
        self._active = Blend(self._active, new, t_now, duration)

    def position(self, t: float) -> np.ndarray:
        """The current reference's position (dof,) rad at ``t`` s, without advancing it."""
        return self._require().evaluate(t)[0]

    def blend_duration(self, old: Trajectory, new: Trajectory, t_now: float) -> float:
        """Shortest duration (>= ``blend_time``, <= `MAX_BLEND_S`) whose blend adds at most
        `BLEND_BUDGET` of the acceleration and jerk limits, estimated from the gap between
        ``old`` and ``new`` at ``t_now`` and the bounds of the smoothstep's derivatives. (A
        chunk that starts far from the reference is a fault the safety monitor refuses before
        it gets here: its ``chunk_jump`` check.)"""
        if self.limits is None:
            return self.blend_time
        q_old, dq_old, ddq_old = old.evaluate(t_now)
        q_new, dq_new, ddq_new = new.evaluate(t_now)
        gap, dgap, ddgap = np.abs(q_new - q_old), np.abs(dq_new - dq_old), np.abs(ddq_new - ddq_old)
        _, ddq_max, dddq_max = self.limits
        duration = self.blend_time
        while duration < MAX_BLEND_S:
            T = duration
            acceleration = W2 * gap / T**2 + 2 * W1 * dgap / T + ddgap
            jerk = W3 * gap / T**3 + 3 * W2 * dgap / T**2 + 3 * W1 * ddgap / T
            if np.all(acceleration <= BLEND_BUDGET * ddq_max) and np.all(
                jerk <= BLEND_BUDGET * dddq_max
            ):
                return duration
            duration *= 1.25
        return MAX_BLEND_S

    def hold(
        self,
        t_now: float,
        *,
        ddq_max: np.ndarray,
        start: tuple[np.ndarray, np.ndarray] | None = None,
        bounds: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Come to a smooth stop from the current reference and hold there (`Stop`).

        Args:
            t_now: s.  ddq_max: (dof,) deceleration budget, rad/s^2.
            start: (q, dq) to stop from instead of the current reference (used when the
                current reference is corrupt); the acceleration then starts at zero.
            bounds: (lo, hi) (dof,) rad the rest point must stay within.
        """
        if start is None:
            q, dq, ddq = self._require().evaluate(t_now)
        else:
            (q, dq), ddq = start, np.zeros_like(start[0])
        self._active = Stop(
            q,
            dq,
            ddq,
            t_now,
            ddq_max=ddq_max,
            min_duration=self.blend_time,
            bounds=bounds,
            gripper=self._require().gripper(t_now),
        )

    def sample(self, t: float) -> JointReference:
        """Reference at time ``t`` s; ``t`` must not decrease between calls."""
        active = self._require()
        q, dq, ddq = active.evaluate(t)
        return JointReference(q, dq, ddq, active.gripper(t))

    def _collapse(self, t: float) -> None:
        """Replace every finished blend, at any depth, by its new trajectory: the chain of
        blends stays as short as the blends still running."""
        while isinstance(self._active, Blend) and self._active.finished(t):
            self._active = self._active.new
        node = self._active
        while isinstance(node, Blend):
            while isinstance(node.old, Blend) and node.old.finished(t):
                node.old = node.old.new
            node = node.old

    def _require(self) -> Trajectory:
        if self._active is None:
            raise RuntimeError("ChunkInterpolator.reset(q) must be called before sampling")
        return self._active
