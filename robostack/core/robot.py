"""The hardware abstraction: one `Robot` interface for real arms and simulators.

A backend (``robostack.sim.mujoco``, ``robostack.hardware.franka``, ...) implements `Robot`; the
control loop
only ever talks to this interface. Torque commands are on top of gravity compensation:
every backend guarantees gravity is compensated (the Franka adds it itself, simulators add
g(q) from their model), so a zero command holds a still arm still.
"""

from __future__ import annotations

import abc
from typing import Protocol

import numpy as np

from robostack.core.types import CommandMode, JointCommand, JointState, RobotSpec


class Robot(abc.ABC):
    """An arm the loop can read and command once per control period.

    Use as a context manager: ``with robot: ...`` connects on entry and closes on exit,
    also when the body raises.

    Attributes:
        spec: what the robot is and may do.
        command_mode: the commands `write` takes; the loop sends torque, or streams the
            reference to robots that servo themselves (`robostack.runtime.loop.command_for`).
        paces_itself: True for real robots, whose `read` blocks until the next control
            period; the loop then runs on `robostack.runtime.loop.RobotPacedClock`.
    """

    spec: RobotSpec
    command_mode: CommandMode = CommandMode.TORQUE
    paces_itself: bool = False

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the connection (or build the simulation); idempotent."""

    @abc.abstractmethod
    def read(self) -> JointState:
        """Return the latest state. Real robots block here until the next control period."""

    @abc.abstractmethod
    def write(self, command: JointCommand) -> None:
        """Send one command; it holds until the next `write`. Simulators advance one period."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop commanding and release the connection; idempotent."""

    def dynamics_model(self) -> DynamicsModel | None:
        """The robot's own dynamics model (the Franka's), or None: controllers then use the
        stack's `robostack.core.model.RigidBodyModel`."""
        return None

    def end_motion(self) -> None:
        """End the current motion between two loop runs: the robot holds still under its own
        control until the next `write` starts another. Real robots need it (FCI and the RTDE
        watchdog expect a command every period while a motion runs); simulators wait anyway.
        """
        return None

    def __enter__(self) -> Robot:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SimRobot(Robot):
    """A simulated robot: adds resetting and access to simulation time."""

    @abc.abstractmethod
    def reset(self, *, seed: int | None = None, q0: np.ndarray | None = None) -> JointState:
        """Reset the scene to ``q0`` (dof,) rad (the robot's home when None), at rest.

        ``seed`` fixes everything random in the scene; equal seeds give bit-identical runs.
        """

    @property
    @abc.abstractmethod
    def physics_ns(self) -> int:
        """Wall time spent in the physics engine by the last `write`, ns (for benchmarks)."""


class DynamicsModel(Protocol):
    """Rigid-body model of an arm, as needed by model-based controllers.

    All methods take ``q`` (dof,) rad and ``dq`` (dof,) rad/s and return float arrays.
    """

    def mass_matrix(self, q: np.ndarray) -> np.ndarray:
        """Joint-space inertia M(q), (dof, dof), kg m^2."""
        ...

    def coriolis(self, q: np.ndarray, dq: np.ndarray) -> np.ndarray:
        """Coriolis and centrifugal torques C(q, dq) dq, (dof,), Nm (no gravity)."""
        ...

    def gravity(self, q: np.ndarray) -> np.ndarray:
        """Gravity torques g(q), (dof,), Nm."""
        ...
