"""Joint impedance: a spring and damper per joint around the reference."""

from __future__ import annotations

import numpy as np

from robostack.controllers.base import Controller
from robostack.core.robot import DynamicsModel
from robostack.core.types import JointReference, JointState


class JointImpedance(Controller):
    """tau = K (q_ref - q) + D (dq_ref - dq) [+ C(q, dq) dq when a model is given].

    The Coriolis feed-forward is what Franka's own joint impedance example adds; with it the
    arm behaves as the chosen spring-damper about the moving reference.

    Args:
        stiffness: (dof,) K, Nm/rad.  damping: (dof,) D, Nm s/rad.
        model: dynamics model for the Coriolis feed-forward, or None.
    """

    def __init__(self, *, stiffness, damping, model: DynamicsModel | None = None):
        self.stiffness = np.asarray(stiffness, dtype=float)
        self.damping = np.asarray(damping, dtype=float)
        self.model = model

    def update(self, state: JointState, reference: JointReference) -> np.ndarray:
        tau = self.stiffness * (reference.q - state.q) + self.damping * (reference.dq - state.dq)
        if self.model is not None:
            tau += self.model.coriolis(state.q, state.dq)
        return tau
