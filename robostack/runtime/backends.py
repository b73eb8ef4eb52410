"""Backend registry: a backend name and a robot description make a `Robot`.

Vendor and simulator modules are imported only when their backend is chosen, so that
``robostack --help`` stays fast and a missing optional package fails only where it is needed.
"""

from __future__ import annotations

from typing import Any

from robostack.core.errors import RobostackError, UnknownNameError
from robostack.core.robot import Robot
from robostack.core.robots import RobotDescription

BACKEND_NAMES = ("mujoco", "pybullet", "isaacgym", "franka_fci", "ur_rtde")
REAL_BACKENDS = {"franka_fci": ("panda",), "ur_rtde": ("ur5e", "ur5")}


def make_robot(
    backend: str,
    description: RobotDescription,
    *,
    address: str | None = None,
    client: Any = None,
    **options: Any,
) -> Robot:
    """Build an unconnected robot of ``description`` on ``backend`` (one of `BACKEND_NAMES`).

    Real-robot backends need the robot's ``address``; ``client`` replaces the vendor's client
    library (the stand-ins of `robostack.hardware.rehearsal.standins`) and ``options`` are the
    backend's config fields (`robostack.hardware.franka.FrankaConfig`,
    `robostack.hardware.ur.URConfig`)."""
    if backend not in BACKEND_NAMES:
        raise UnknownNameError("backend", backend, BACKEND_NAMES)
    if backend == "isaacgym":
        from robostack.sim.isaacgym import IsaacGymRobot

        return IsaacGymRobot(robot=description)
    if backend not in REAL_BACKENDS:
        from robostack.sim import make_simulation

        return make_simulation(backend, robot=description)
    if description.name not in REAL_BACKENDS[backend]:
        raise RobostackError(
            f"{backend} drives {', '.join(REAL_BACKENDS[backend])}, not {description.name}"
        )
    if not address:
        raise RobostackError(f"the {backend} backend needs the robot's address")
    if backend == "franka_fci":
        from robostack.hardware.franka import FrankaConfig, FrankaRobot

        return FrankaRobot(address=address, config=FrankaConfig(**options), client=client)
    from robostack.hardware.ur import URConfig, URRobot

    config = URConfig(**options)
    return URRobot(robot=description.name, address=address, config=config, client=client)
