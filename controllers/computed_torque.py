"""Computed torque: feedback linearisation with the arm's rigid-body model."""

from __future__ import annotations

import numpy as np

from robostack.controllers.base import Controller
from robostack.core.robot import DynamicsModel
from robostack.core.types import JointReference, JointState


class ComputedTorque(Controller):
    """tau = M(q) (ddq_ref + Kp e + Kd de) + C(q, dq) dq, with e = q_ref - q.

    Gravity is left out: every backend compensates it (docs/architecture.md). With an exact
    model the error obeys e'' + Kd e' + Kp e = 0 on every joint, so Kp = wn^2, Kd = 2 zeta wn.

    Args:
        model: dynamics model (mass matrix and Coriolis torques).
        kp: (dof,) 1/s^2.  kd: (dof,) 1/s.
    """

    def __init__(self, *, model: DynamicsModel, kp, kd):
        self.model = model
        self.kp = np.asarray(kp, dtype=float)
        self.kd = np.asarray(kd, dtype=float)

    def update(self, state: JointState, reference: JointReference) -> np.ndarray:
        q, dq = state.q, state.dq
        v = reference.ddq + self.kp * (reference.q - q) + self.kd * (reference.dq - dq)
        return self.model.mass_matrix(q) @ v + self.model.coriolis(q, dq)
