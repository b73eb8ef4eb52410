"""Built-in joint references and the chunk source that feeds them to the loop like a policy.

A `Reference` is a smooth joint trajectory q(t) known in advance. `ReferenceChunker` samples
it into `TrajectoryChunk`s at the policy rate, so the built-in references exercise the same
path as a policy: chunks -> interpolator -> controller.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from robostack.core.errors import RobostackError, UnknownNameError
from robostack.core.robots import RobotDescription
from robostack.core.types import JointState, TrajectoryChunk

if TYPE_CHECKING:  # imported lazily: keeps `robostack --help` free of MuJoCo and SciPy
    from robostack.core.model import RigidBodyModel


class Reference(abc.ABC):
    """A joint trajectory starting and ending at rest.

    Attributes:
        name: short name for reports.
        duration: length, s; after it the reference holds its last position.
        gripper_width: gripper target while this reference plays, m (None: leave it).
    """

    name: str
    duration: float
    gripper_width: float | None = None

    def grippers(self, t: np.ndarray) -> np.ndarray | None:
        """Gripper targets (T,) m at times ``t`` (T,) s, or None."""
        if self.gripper_width is None:
            return None
        return np.full(len(np.atleast_1d(t)), self.gripper_width)

    @abc.abstractmethod
    def positions(self, t: np.ndarray) -> np.ndarray:
        """Joint positions (T, dof) rad at times ``t`` (T,) s (clamped to [0, duration])."""


def minimum_jerk(s: np.ndarray) -> np.ndarray:
    """Rest-to-rest minimum-jerk profile 10 s^3 - 15 s^4 + 6 s^5 on s in [0, 1]."""
    s = np.clip(s, 0.0, 1.0)
    return s**3 * (10 - 15 * s + 6 * s**2)


class WaypointReference(Reference):
    """Straight joint-space moves between waypoints, each with a minimum-jerk time law.

    Each move lasts long enough that no joint exceeds ``speed`` x its velocity, acceleration
    or (given ``dddq_max``) jerk limit: minimum jerk over a distance d in a time T peaks at
    1.875 d/T in speed, 5.77 d/T^2 in acceleration and 60 d/T^3 in jerk.

    Args:
        waypoints: (N, dof) rad, N >= 2.
        dq_max, ddq_max: (dof,) limits, rad/s and rad/s^2.
        dddq_max: (dof,) jerk limits, rad/s^3, or None.
        speed: fraction of the limits used, in (0, 1].
    """

    def __init__(
        self, name: str, waypoints: np.ndarray, *, dq_max, ddq_max, speed: float, dddq_max=None
    ):
        if not 0 < speed <= 1:
            raise RobostackError(f"speed must be in (0, 1], got {speed}")
        self.name = name
        self.waypoints = np.asarray(waypoints, dtype=float)
        distance = np.abs(np.diff(self.waypoints, axis=0))  # (N-1, dof)
        t_speed = 1.875 * distance / (speed * np.asarray(dq_max))
        t_accel = np.sqrt(5.774 * distance / (speed * np.asarray(ddq_max)))
        t_jerk = (
            0.0 if dddq_max is None else np.cbrt(60 * distance / (speed * np.asarray(dddq_max)))
        )
        self.move_durations = np.maximum(
            np.maximum(np.maximum(t_speed, t_accel), t_jerk).max(axis=1), 1e-3
        )
        self.move_starts = np.concatenate([[0.0], np.cumsum(self.move_durations)])
        self.duration = float(self.move_starts[-1])

    def positions(self, t: np.ndarray) -> np.ndarray:
        t = np.clip(np.atleast_1d(np.asarray(t, dtype=float)), 0.0, self.duration)
        move = np.clip(
            np.searchsorted(self.move_starts, t, side="right") - 1, 0, len(self.move_durations) - 1
        )
        s = minimum_jerk((t - self.move_starts[move]) / self.move_durations[move])
        start, end = self.waypoints[move], self.waypoints[move + 1]
        return start + s[:, None] * (end - start)


class CartesianCircle(Reference):
    """The tool traces a horizontal circle at constant orientation, solved by IK.

    The circle starts and ends at the tool position at ``q_start`` (its centre lies
    ``radius`` behind it along -x) and is traversed once with a minimum-jerk angle profile,
    so the motion starts and ends at rest. IK solutions at ``samples_per_s`` are joined by a
    clamped cubic spline.

    Args:
        model: the arm's rigid-body model (IK).
        q_start: (dof,) rad.
        radius: m.  period: time for one turn, s.
        samples_per_s: IK solutions per second.
    """

    def __init__(
        self,
        model: RigidBodyModel,
        q_start: np.ndarray,
        *,
        radius: float = 0.1,
        period: float = 6.0,
        samples_per_s: float = 100.0,
    ):
        from scipy.interpolate import CubicSpline

        self.name = "circle"
        position, rotation = model.tool_pose(q_start)
        centre = position - np.array([radius, 0.0, 0.0])
        n = int(period * samples_per_s) + 1
        angle = 2 * np.pi * minimum_jerk(np.linspace(0.0, 1.0, n))
        points = centre + radius * np.stack([np.cos(angle), np.sin(angle), 0 * angle], axis=1)
        q = np.empty((n, len(q_start)))
        q_prev = np.asarray(q_start, dtype=float)
        for i, point in enumerate(points):
            result = model.inverse_kinematics(point, rotation, q_prev, q_rest=q_start)
            if not result.converged:
                raise RobostackError(
                    f"circle point {i} at {np.round(point, 4)} m is out of reach of "
                    f"{model.description.name}: IK error {result.position_error * 1e3:.2f} mm"
                )
            q[i] = q_prev = result.q
        self._spline = CubicSpline(np.linspace(0.0, period, n), q, axis=0, bc_type="clamped")
        self.duration = period

    def positions(self, t: np.ndarray) -> np.ndarray:
        t = np.clip(np.atleast_1d(np.asarray(t, dtype=float)), 0.0, self.duration)
        return self._spline(t)


class Dwell(Reference):
    """Stay at ``q`` (dof,) rad for ``duration`` s (e.g. while the gripper closes)."""

    def __init__(self, name: str, q: np.ndarray, duration: float):
        self.name, self.duration, self.q = name, duration, np.asarray(q, dtype=float)

    def positions(self, t: np.ndarray) -> np.ndarray:
        return np.tile(self.q, (len(np.atleast_1d(t)), 1))


class CartesianLine(Reference):
    """The tool moves in a straight line at constant orientation, minimum-jerk in time.

    Args:
        model: rigid-body model (IK).  q_start: (dof,) rad, the line's start configuration.
        end: (3,) m, where the tool ends.  duration: s.
        samples_per_s: IK solutions per second, joined by a clamped cubic spline.
    """

    def __init__(
        self,
        name: str,
        model: RigidBodyModel,
        q_start: np.ndarray,
        end: np.ndarray,
        *,
        duration: float,
        samples_per_s: float = 100.0,
    ):
        from scipy.interpolate import CubicSpline

        self.name, self.duration = name, duration
        start, rotation = model.tool_pose(q_start)
        n = max(int(duration * samples_per_s), 2) + 1
        s = minimum_jerk(np.linspace(0.0, 1.0, n))
        q = np.empty((n, len(q_start)))
        q_prev = np.asarray(q_start, dtype=float)
        for i, point in enumerate(start + s[:, None] * (np.asarray(end) - start)):
            result = model.inverse_kinematics(point, rotation, q_prev, q_rest=q_start)
            if not result.converged:
                raise RobostackError(f"{name}: point {np.round(point, 3)} m is out of reach")
            q[i] = q_prev = result.q
        self.q_end = q[-1]
        self._spline = CubicSpline(np.linspace(0.0, duration, n), q, axis=0, bc_type="clamped")

    def positions(self, t: np.ndarray) -> np.ndarray:
        t = np.clip(np.atleast_1d(np.asarray(t, dtype=float)), 0.0, self.duration)
        return self._spline(t)


class ReferenceSequence(Reference):
    """References played one after the other; each must end where the next starts."""

    def __init__(self, parts: Sequence[Reference]):
        self.parts = list(parts)
        self.name = "+".join(p.name for p in self.parts)
        self.starts = np.concatenate([[0.0], np.cumsum([p.duration for p in self.parts])])
        self.duration = float(self.starts[-1])

    def positions(self, t: np.ndarray) -> np.ndarray:
        t = np.clip(np.atleast_1d(np.asarray(t, dtype=float)), 0.0, self.duration)
        index = np.clip(np.searchsorted(self.starts, t, side="right") - 1, 0, len(self.parts) - 1)
        out = np.empty((len(t), len(self.parts[0].positions(np.zeros(1))[0])))
        for i, part in enumerate(self.parts):
            mask = index == i
            if mask.any():
                out[mask] = part.positions(t[mask] - self.starts[i])
        return out

    def grippers(self, t: np.ndarray) -> np.ndarray | None:
        """Each part's gripper target at its times; None if no part sets one."""
        if all(p.gripper_width is None for p in self.parts):
            return None
        t = np.clip(np.atleast_1d(np.asarray(t, dtype=float)), 0.0, self.duration)
        index = np.clip(np.searchsorted(self.starts, t, side="right") - 1, 0, len(self.parts) - 1)
        widths = np.array(
            [np.nan if p.gripper_width is None else p.gripper_width for p in self.parts]
        )
        out = widths[index]
        if np.isnan(out).any():
            raise RobostackError(f"{self.name}: every part must set a gripper width, or none")
        return out

    def part_at(self, t: float) -> str:
        """Name of the part playing at time ``t`` s."""
        i = int(np.clip(np.searchsorted(self.starts, t, side="right") - 1, 0, len(self.parts) - 1))
        return self.parts[i].name


@dataclass(frozen=True)
class SweepPlan:
    """How a robot's joint sweep goes: home -> first extreme -> opposite extreme -> home.

    Attributes:
        first: (dof,) +1 or -1, the direction each joint takes first. Coupled joints move in
            opposite senses (shoulder forward while the elbow folds) so the arm stays clear of
            the table; tests/robostack/test_references.py checks it in simulation.
        fraction: extremes at this fraction of each joint's half range around its centre.
        half_span: (dof,) extremes at home +- this, rad; overrides ``fraction``.
    """

    first: tuple[int, ...]
    fraction: float = 0.8
    half_span: tuple[float, ...] | None = None


# UR joints turn +-360 deg; sweeping most of that would drive the arm through the table and
# the base, so the UR sweep spans these angles around home instead.
_UR_SWEEP = SweepPlan(first=(1, 1, -1, 1, 1, 1), half_span=(2.5, 0.7, 1.2, 1.4, 2.5, 3.0))
SWEEP_PLANS = {
    "panda": SweepPlan(first=(1, 1, 1, -1, 1, -1, 1), fraction=0.8),
    "ur5e": _UR_SWEEP,
    "ur5": _UR_SWEEP,
}


def joint_sweep(description: RobotDescription, *, speed: float = 0.5) -> WaypointReference:
    """Sweep every joint together through most of its range (`SWEEP_PLANS`), back to home."""
    spec = description.spec
    plan = SWEEP_PLANS[description.name]
    home, first = description.q_home, np.array(plan.first)
    if plan.half_span is not None:
        centre, half = home, np.array(plan.half_span)
    else:
        centre, half = (spec.q_max + spec.q_min) / 2, plan.fraction * (spec.q_max - spec.q_min) / 2
    waypoints = np.stack([home, centre + first * half, centre - first * half, home])
    return WaypointReference(
        "sweep", waypoints, dq_max=spec.dq_max, ddq_max=spec.ddq_max, speed=speed
    )


REFERENCE_NAMES = ("sweep", "circle", "all")


def builtin_reference(
    name: str, description: RobotDescription, model: RigidBodyModel, *, speed: float = 0.5
) -> Reference:
    """The built-in reference ``name`` (one of `REFERENCE_NAMES`), validated against limits."""
    if name not in REFERENCE_NAMES:
        raise UnknownNameError("reference", name, REFERENCE_NAMES)
    parts = []
    if name in ("sweep", "all"):
        parts.append(joint_sweep(description, speed=speed))
    if name in ("circle", "all"):
        parts.append(CartesianCircle(model, description.q_home))
    reference = ReferenceSequence(parts)
    check_reference(reference, description)
    return reference


def check_reference(
    reference: Reference, description: RobotDescription, rate_hz: float = 100.0
) -> None:
    """Refuse a reference leaving the joint limits, naming the joint, value and limit."""
    t = np.arange(0.0, reference.duration + 1.0 / rate_hz, 1.0 / rate_hz)
    description.spec.check_positions(reference.positions(t), what=f"reference {reference.name!r}")


class ReferenceChunker:
    """A chunk source: at each call, the next ``horizon`` waypoints of ``reference``.

    It behaves like the DiT policy's defaults: Tp = 16 waypoints 0.1 s apart, of which
    Ta = 8 are executed before the next chunk is asked for (every `period` seconds).

    Args:
        reference: the trajectory to sample.
        chunk_dt: waypoint spacing, s (the policy's step).
        horizon: waypoints per chunk (Tp).
        executed: waypoints executed before the next chunk (Ta).
        t_offset: robot time at which the reference starts, s (None: the time of the first
            state asked about, so that the time before a loop's first tick never counts).
    """

    def __init__(
        self,
        reference: Reference,
        *,
        chunk_dt: float = 0.1,
        horizon: int = 16,
        executed: int = 8,
        t_offset: float | None = 0.0,
    ):
        if not 1 <= executed < horizon:
            raise RobostackError(f"executed steps must be in [1, {horizon}), got {executed}")
        self.reference, self.chunk_dt, self.horizon, self.t_offset = (
            reference,
            chunk_dt,
            horizon,
            t_offset,
        )
        self.period = executed * chunk_dt
        self._steps = np.arange(horizon) * chunk_dt

    def next_chunk(self, state: JointState) -> TrajectoryChunk:
        """Chunk starting at ``state.t``; after the reference's end, chunks hold its last point
        (a source that keeps talking, so the stale-reference watchdog stays quiet)."""
        if self.t_offset is None:
            self.t_offset = state.t
        times = state.t - self.t_offset + self._steps
        return TrajectoryChunk(
            t0=state.t,
            dt=self.chunk_dt,
            q=self.reference.positions(times),
            gripper=self.reference.grippers(times),
            obs_time=state.t,
        )
