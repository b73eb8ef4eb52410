"""`VirtualArm`: a MuJoCo arm with a robot controller's clock, limits and injectable faults.

Whatever plays the robot's controller owns no physics: a stand-in client
(`robostack.hardware.rehearsal.standins`) turns client calls into `VirtualArm.step` calls, a
protocol-level virtual controller (`robostack.hardware.rehearsal.virtual`) turns the packets it
receives into them. The arm keeps the controller's clock (``t`` s, advancing one control period per
step), gravity compensation (the simulation adds g(q), as FCI and UR's controller do), and a
schedule of faults that a test injects at a time.
"""

from __future__ import annotations

import time

import numpy as np

from robostack.core.types import JointCommand, JointState
from robostack.sim.mujoco import MujocoRobot, SceneConfig

# the controller each robot's virtual arm plays: control period (s) and software version
CONTROLLERS = {
    "panda": (0.001, "5.9.0"),  # FCI
    "ur5e": (0.002, "5.26.0"),  # e-Series, PolyScope 5.26 (direct torque)
    "ur5": (0.008, "3.15.8"),  # CB3
}
FAULTS = ("communication_loss", "reflex", "protective_stop", "emergency_stop", "stall")


class VirtualArm:
    """A simulated arm as a robot controller sees it.

    Args:
        robot: registry name (``panda``, ``ur5e``, ``ur5``).
        period: the controller's control period, s (0.001 FCI, 0.002 e-Series, 0.008 CB3);
            a multiple of the 1 ms physics step.
        scene: the MuJoCo scene (a task's decorations), default an empty table.
        q0: (dof,) start configuration, rad (default the robot's home).
        realtime: `wait` blocks until the wall-clock time of the controller's current tick,
            as a real controller's next state arrives once per period (for timing figures);
            otherwise `wait` returns at once and steps run as fast as the physics allows.
        firmware: the controller's software version, e.g. ``"5.26.0"`` (UR) or ``"5.9.0"``.
    """

    def __init__(
        self,
        *,
        robot: str,
        period: float,
        scene: SceneConfig | None = None,
        q0: np.ndarray | None = None,
        realtime: bool = False,
        firmware: str = "",
    ):
        self.sim = MujocoRobot(robot=robot, scene=scene)
        self.sim.connect()
        self.sim.reset(q0=q0)
        self.substeps = round(period / self.sim.spec.dt)
        if self.substeps < 1 or abs(self.substeps * self.sim.spec.dt - period) > 1e-9:
            raise ValueError(f"period {period} s is not a multiple of the 1 ms physics step")
        self.period, self.realtime, self.firmware = period, realtime, firmware
        self.spec = self.sim.spec
        self.t = 0.0
        self.steps = 0
        self.tau = np.zeros(self.spec.dof)  # the torque applied in the last period, Nm
        self._faults: dict[str, float] = {}
        self._origin_ns = 0

    # --- faults -------------------------------------------------------------------------

    def inject(self, fault: str, *, at: float = 0.0) -> None:
        """Schedule ``fault`` (one of `FAULTS`) at controller time ``at`` s."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        self._faults[fault] = at

    def fault_due(self, fault: str) -> bool:
        """True once controller time has reached the time ``fault`` was scheduled for."""
        at = self._faults.get(fault)
        return at is not None and self.t >= at - 1e-12

    def fault_time(self, fault: str) -> float | None:
        """When ``fault`` was scheduled, s, or None."""
        return self._faults.get(fault)

    def faults(self) -> dict[str, float]:
        """The scheduled faults and their controller times, s."""
        return dict(self._faults)

    def clear(self, fault: str) -> None:
        self._faults.pop(fault, None)

    # --- physics ------------------------------------------------------------------------

    def state(self) -> JointState:
        """The arm's state now (t is the controller clock)."""
        state = self.sim.read()
        state.t = self.t
        return state

    def step(self, tau: np.ndarray, gripper: float | None = None) -> None:
        """Apply ``tau`` (dof,) Nm on top of gravity for one control period, then advance."""
        self.tau = np.asarray(tau, dtype=float)
        command = JointCommand.torque(self.tau, gripper)
        for _ in range(self.substeps):
            self.sim.write(command)
        self.steps += 1
        self.t = self.steps * self.period

    def wait(self) -> None:
        """Block until the wall-clock time of the current tick (``realtime`` only): tick
        ``steps`` is due ``steps`` periods after the first wait. After a pause of more than
        ten periods the schedule restarts from now (no burst of catch-up ticks)."""
        if not self.realtime:
            return
        period_ns = round(self.period * 1e9)
        now = time.perf_counter_ns()
        deadline = self._origin_ns + self.steps * period_ns
        if self._origin_ns == 0 or now - deadline > 10 * period_ns:
            self._origin_ns = now - self.steps * period_ns
            return
        if deadline - now > 200_000:
            time.sleep((deadline - now - 200_000) * 1e-9)
        while time.perf_counter_ns() < deadline:
            pass
