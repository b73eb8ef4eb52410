"""Joint-space PID with anti-windup."""

from __future__ import annotations

import numpy as np

from robostack.controllers.base import Controller
from robostack.core.types import JointReference, JointState


class PID(Controller):
    """tau = Kp e + Ki integral(e) + Kd de, with e = q_ref - q and de = dq_ref - dq.

    Anti-windup: the integral term is clamped to +-``integral_limit`` Nm per joint, and it
    stops integrating in the direction that would push an output already at ``tau_max``
    further into saturation (conditional integration).

    Args:
        kp: (dof,) Nm/rad.  ki: (dof,) Nm/(rad s).  kd: (dof,) Nm s/rad.
        integral_limit: (dof,) bound of the integral term, Nm.
        tau_max: (dof,) output saturation used for conditional integration, Nm.
        dt: control period, s.
    """

    def __init__(self, *, kp, ki, kd, integral_limit, tau_max, dt: float):
        self.kp, self.ki, self.kd = (np.asarray(g, dtype=float) for g in (kp, ki, kd))
        self.integral_limit = np.asarray(integral_limit, dtype=float)
        self.tau_max = np.asarray(tau_max, dtype=float)
        self.ki_dt = self.ki * dt
        self._integral = np.zeros_like(self.kp)  # Ki * integral(e), Nm

    def reset(self) -> None:
        self._integral[:] = 0.0

    def update(self, state: JointState, reference: JointReference) -> np.ndarray:
        e = reference.q - state.q
        tau_pd = self.kp * e + self.kd * (reference.dq - state.dq)
        integral = self._integral + self.ki_dt * e
        np.minimum(integral, self.integral_limit, out=integral)  # np.clip is slow on small arrays
        np.maximum(integral, -self.integral_limit, out=integral)
        tau = tau_pd + integral
        winding = (tau * e > 0) & (np.abs(tau) > self.tau_max)
        if winding.any():  # keep the old integral where it would push deeper into saturation
            integral[winding] = self._integral[winding]
            tau = tau_pd + integral
        self._integral = integral
        return tau
