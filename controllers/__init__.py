"""Joint-space controllers and the chunk interpolator.

`make_controller` builds a controller by name with the robot's default gains
(`robostack.controllers.gains`); the classes can also be built directly with any gains.
"""

from __future__ import annotations

from robostack.controllers.base import Controller
from robostack.controllers.computed_torque import ComputedTorque
from robostack.controllers.gains import DEFAULT_GAINS
from robostack.controllers.impedance import JointImpedance
from robostack.controllers.interpolation import ChunkInterpolator
from robostack.controllers.pid import PID
from robostack.core.errors import UnknownNameError
from robostack.core.robot import DynamicsModel
from robostack.core.types import RobotSpec

CONTROLLER_NAMES = ("pid", "impedance", "computed_torque")


def make_controller(
    name: str, *, spec: RobotSpec, model: DynamicsModel, dt: float, gains: dict | None = None
) -> Controller:
    """Build controller ``name`` for the robot ``spec`` with its default gains.

    Args:
        name: one of `CONTROLLER_NAMES`.
        spec: the robot (its name picks the default gains; tau_max bounds PID windup).
        model: dynamics model (computed torque; impedance uses it for Coriolis feed-forward).
        dt: control period, s.
        gains: overrides of the default gains, same keys as `robostack.controllers.gains`.
    """
    if name not in CONTROLLER_NAMES:
        raise UnknownNameError("controller", name, CONTROLLER_NAMES)
    g = {**DEFAULT_GAINS[spec.name][name], **(gains or {})}
    if name == "pid":
        return PID(tau_max=spec.tau_max, dt=dt, **g)
    if name == "impedance":
        return JointImpedance(model=model, **g)
    return ComputedTorque(model=model, **g)


__all__ = [
    "CONTROLLER_NAMES",
    "PID",
    "ChunkInterpolator",
    "ComputedTorque",
    "Controller",
    "JointImpedance",
    "make_controller",
]
