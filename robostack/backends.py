"""Backend registry: a backend name and a robot description make a `Robot`.

Vendor and simulator modules are imported only when their backend is chosen, so that
``robostack --help`` stays fast and a missing optional package fails only where it is needed.
"""

from __future__ import annotations

from robostack.errors import UnknownNameError
from robostack.robot import Robot
from robostack.robots import RobotDescription

BACKEND_NAMES = ("mujoco",)


def make_robot(backend: str, description: RobotDescription) -> Robot:
    """Build an unconnected robot of ``description`` on ``backend`` (one of `BACKEND_NAMES`)."""
    if backend == "mujoco":
        from sim.mujoco import MujocoRobot

        return MujocoRobot(robot=description)
    raise UnknownNameError("backend", backend, BACKEND_NAMES)
