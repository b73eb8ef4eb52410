"""Joint velocity commands kept within a velocity interface's velocity, acceleration and jerk.

A robot streaming joint velocities (the Franka's joint velocity motion generator) aborts the
motion with a reflex when the commanded signal breaks its limits: its speed, its change per
period (acceleration) or the change of that (jerk). `VelocityLimits.for_interface` gives the
bounds to stay within, with libfranka's margins (``franka/rate_limiting.h``): each limit less
1e-3, and the velocity less what three lost packets at full acceleration add, since the robot
extrapolates a lost command at constant acceleration. `limit_velocity` is the per-period
limiter: the jerk is clamped first, then the acceleration to what still lets the joint brake
to its velocity limit under the jerk limit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from robostack.core.types import RobotSpec

LIMIT_EPS = 1e-3  # libfranka's margin on each limit
LOST_PACKETS = 3.0  # lost periods at full acceleration the velocity margin allows for


class VelocityLimits(NamedTuple):
    """(dof,) bounds of a velocity command: ``velocity`` rad/s, ``acceleration`` rad/s^2,
    ``jerk`` rad/s^3."""

    velocity: np.ndarray
    acceleration: np.ndarray
    jerk: np.ndarray

    @classmethod
    def of_spec(cls, spec: RobotSpec) -> VelocityLimits:
        """The robot's own limits (what its motion generator checks)."""
        return cls(spec.dq_max.copy(), spec.ddq_max.copy(), spec.dddq_max.copy())

    @classmethod
    def for_interface(cls, spec: RobotSpec) -> VelocityLimits:
        """The robot's limits less libfranka's margins (module doc): a command within them
        never trips the motion generator's reflexes."""
        acceleration = spec.ddq_max - LIMIT_EPS
        velocity = spec.dq_max - LIMIT_EPS - LOST_PACKETS * spec.dt * spec.ddq_max
        return cls(velocity, acceleration, spec.dddq_max - LIMIT_EPS)


class Limited(NamedTuple):
    """A limited command: ``dq`` (dof,) rad/s and its acceleration ``ddq`` (dof,) rad/s^2; per
    joint, the bound that changed it: ``velocity`` (braking towards the velocity limit, or a
    request beyond it), ``acceleration``, ``jerk`` ((dof,) bool, at most one True a joint)."""

    dq: np.ndarray
    ddq: np.ndarray
    velocity: np.ndarray
    acceleration: np.ndarray
    jerk: np.ndarray


def limit_velocity(
    dq: np.ndarray,
    last_dq: np.ndarray,
    last_ddq: np.ndarray,
    limits: VelocityLimits,
    dt: float,
) -> Limited:
    """``dq`` (dof,) rad/s, the command after ``last_dq`` and its acceleration ``last_ddq``
    sent ``dt`` s earlier, within ``limits`` (module doc). A joint no bound touches keeps its
    ``dq`` exactly."""
    v_max, a_max, j_max = limits
    ddq_asked = (dq - last_dq) / dt
    jerk_asked = (ddq_asked - last_ddq) / dt
    ddq = last_ddq + np.clip(jerk_asked, -j_max, j_max) * dt
    brake = j_max / a_max  # 1/s: the acceleration that still brakes in time shrinks with speed
    upper = np.minimum(a_max, brake * (v_max - last_dq))
    lower = np.maximum(-a_max, brake * (-v_max - last_dq))
    above, below = ddq > upper, ddq < lower
    bounded = np.where(above, upper, np.where(below, lower, ddq))
    braking = (above & (upper < a_max)) | (below & (lower > -a_max)) | (np.abs(dq) > v_max)
    accelerating = (above | below) & ~braking
    jerking = (np.abs(jerk_asked) > j_max) & ~braking & ~accelerating
    changed = braking | accelerating | jerking
    return Limited(
        dq=np.where(changed, last_dq + bounded * dt, dq),
        ddq=np.where(changed, bounded, ddq_asked),
        velocity=braking,
        acceleration=accelerating,
        jerk=jerking,
    )
