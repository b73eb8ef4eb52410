"""The `Controller` interface: joint state + reference -> joint torque, once per tick."""

from __future__ import annotations

import abc

import numpy as np

from robostack.core.types import JointReference, JointState


class Controller(abc.ABC):
    """Computes the torque command (on top of gravity compensation) for one tick.

    Args to `update`: the measured ``state`` and the ``reference`` for the same tick.
    Returns: (dof,) torque, Nm. Controllers never clamp: limits are the safety monitor's job.
    """

    @abc.abstractmethod
    def update(self, state: JointState, reference: JointReference) -> np.ndarray: ...

    def reset(self) -> None:  # noqa: B027 - stateless controllers need not override
        """Forget internal state (integrators, filters) before a new session."""
