"""Stand-ins for the vendors' client libraries, so the real-robot path runs without a robot.

`pylibfranka` and `ur_rtde` here follow the documented call semantics of pylibfranka 0.21 and
ur_rtde 1.6 (the calls the backends make, their blocking, their exceptions) and drive a
`VirtualArm`, a MuJoCo arm, underneath. Serve an arm at an address with `serve` (or
`rehearsal`); a client connecting anywhere else is refused, as by a
real network.

They check our backends against our reading of the vendors' documentation, not against the
vendors' code: the protocol-level virtual controllers (`robostack.hardware.rehearsal.virtual`)
are the stronger proof.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

import numpy as np

from robostack.hardware.rehearsal.standins.registry import lookup, serve
from robostack.hardware.rehearsal.virtual.arm import CONTROLLERS, FAULTS, VirtualArm


def client_for(backend: str) -> ModuleType:
    """The stand-in client module of ``backend`` (``franka_fci`` or ``ur_rtde``)."""
    if backend == "franka_fci":
        from robostack.hardware.rehearsal.standins import pylibfranka

        return pylibfranka
    from robostack.hardware.rehearsal.standins import ur_rtde

    return ur_rtde


@contextmanager
def rehearsal(
    backend: str,
    robot: str,
    address: str,
    *,
    realtime: bool = True,
    q0: np.ndarray | None = None,
    firmware: str | None = None,
) -> Iterator[tuple[ModuleType, VirtualArm]]:
    """Serve a `VirtualArm` playing ``robot``'s controller at ``address``; yield the stand-in
    client for ``backend`` and the arm (to inject faults). ``q0`` defaults to the home pose
    with the first joint turned 0.3 rad, so that a start move has somewhere to go."""
    from robostack.core.robots import get_robot

    period, default_firmware = CONTROLLERS[robot]
    if q0 is None:
        q0 = get_robot(robot).q_home + np.eye(get_robot(robot).spec.dof)[0] * 0.3
    arm = VirtualArm(
        robot=robot, period=period, q0=q0, realtime=realtime, firmware=firmware or default_firmware
    )
    with serve(address, arm):
        yield client_for(backend), arm


__all__ = ["CONTROLLERS", "FAULTS", "VirtualArm", "client_for", "lookup", "rehearsal", "serve"]
