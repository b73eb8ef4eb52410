"""Core value types shared by every layer: robot specs, joint states, commands, chunks.

All quantities are SI (m, s, N, Nm) and radians. Arrays are float64 numpy arrays whose
shapes are given in each field's comment; ``dof`` is the number of arm joints (the
gripper, when present, is a separate scalar channel, never a joint in these arrays).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from robostack.core.errors import LimitError, NonFiniteError, ShapeError


class CommandMode(enum.Enum):
    """How a `JointCommand`'s values are interpreted by a backend."""

    TORQUE = "torque"  # Nm on top of gravity compensation (a zero command holds a still arm)
    VELOCITY = "velocity"  # rad/s joint velocity targets
    POSITION = "position"  # rad joint position targets


@dataclass(frozen=True, kw_only=True)
class RobotSpec:
    """What a robot is and what it may do.

    Attributes:
        name: registry name, e.g. ``"panda"``.
        joint_names: arm joint names, length ``dof``.
        q_min, q_max: (dof,) joint position limits, rad.
        dq_max: (dof,) joint speed limits, rad/s.
        ddq_max: (dof,) joint acceleration limits, rad/s^2.
        dddq_max: (dof,) joint jerk limits, rad/s^3.
        tau_max: (dof,) joint torque limits, Nm (symmetric).
        dtau_max: torque rate limit, Nm/s (scalar, all joints).
        control_rate_hz: the rate the loop runs at on this robot, Hz.
        command_modes: command modes the robot accepts.
        compensates_gravity: True when the robot itself adds g(q) to torque commands.
        has_gripper: True when the robot carries a gripper driven by `JointCommand.gripper`.
        gripper_width_max: fully open gripper width, m (0 without a gripper).
    """

    name: str
    joint_names: tuple[str, ...]
    q_min: np.ndarray
    q_max: np.ndarray
    dq_max: np.ndarray
    ddq_max: np.ndarray
    dddq_max: np.ndarray
    tau_max: np.ndarray
    dtau_max: float
    control_rate_hz: float = 1000.0
    command_modes: tuple[CommandMode, ...] = (CommandMode.TORQUE,)
    compensates_gravity: bool = True
    has_gripper: bool = False
    gripper_width_max: float = 0.0

    def __post_init__(self) -> None:
        n = len(self.joint_names)
        for name in ("q_min", "q_max", "dq_max", "ddq_max", "dddq_max", "tau_max"):
            value = np.asarray(getattr(self, name), dtype=float)
            if value.shape != (n,):
                raise ShapeError(f"RobotSpec.{name}", value.shape, (n,))
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        if np.any(self.q_min >= self.q_max):
            raise ValueError(f"{self.name}: every q_min must be below q_max")

    @property
    def dof(self) -> int:
        return len(self.joint_names)

    @property
    def dt(self) -> float:
        """Control period, s."""
        return 1.0 / self.control_rate_hz

    def check_positions(self, q: np.ndarray, *, what: str = "position") -> None:
        """Raise `LimitError` naming the first joint of ``q`` (dof,) or (T, dof) outside limits."""
        q = np.asarray(q, dtype=float)
        if q.shape[-1] != self.dof:
            raise ShapeError(what, q.shape, ("...", self.dof))
        if not np.all(np.isfinite(q)):
            raise NonFiniteError(f"{what} contains NaN or Inf")
        rows = q.reshape(-1, self.dof)
        low = rows < self.q_min
        high = rows > self.q_max
        if low.any() or high.any():
            row, joint = np.argwhere(low | high)[0]
            limit = self.q_min[joint] if low[row, joint] else self.q_max[joint]
            raise LimitError(
                what=what,
                joint=self.joint_names[joint],
                value=float(rows[row, joint]),
                low=float(self.q_min[joint]),
                high=float(self.q_max[joint]),
                violated=float(limit),
            )


@dataclass(slots=True)
class JointState:
    """One measurement of the arm.

    Attributes:
        t: time of the measurement, s (robot clock; simulation time in sim).
        q: (dof,) joint positions, rad.
        dq: (dof,) joint velocities, rad/s.
        tau: (dof,) measured joint torques, Nm, or None if not sensed.
        tau_ext: (dof,) estimated external joint torques, Nm, or None if unavailable.
        gripper_width: current gripper opening, m, or None without a gripper.
    """

    t: float
    q: np.ndarray
    dq: np.ndarray
    tau: np.ndarray | None = None
    tau_ext: np.ndarray | None = None
    gripper_width: float | None = None


@dataclass(slots=True)
class JointCommand:
    """One command to the arm.

    Attributes:
        mode: how ``values`` are interpreted.
        values: (dof,) torques in Nm (on top of gravity compensation), velocities in rad/s,
            or positions in rad, according to ``mode``.
        gripper: target gripper width, m, or None to leave the gripper as it is.
    """

    mode: CommandMode
    values: np.ndarray
    gripper: float | None = None

    @classmethod
    def torque(cls, tau: np.ndarray, gripper: float | None = None) -> JointCommand:
        return cls(CommandMode.TORQUE, tau, gripper)


@dataclass(slots=True)
class JointReference:
    """The reference the controller tracks at one tick.

    Attributes:
        q: (dof,) rad.  dq: (dof,) rad/s.  ddq: (dof,) rad/s^2.
        gripper: target gripper width, m, or None.
    """

    q: np.ndarray
    dq: np.ndarray
    ddq: np.ndarray
    gripper: float | None = None


@dataclass(frozen=True, kw_only=True)
class TrajectoryChunk:
    """A chunk of absolute joint positions at the policy rate.

    Attributes:
        t0: time of the first waypoint, s (same clock as `JointState.t`).
        dt: waypoint spacing, s (> 0).
        q: (Tp, dof) joint positions, rad; waypoint i is at ``t0 + i * dt``.
        gripper: (Tp,) gripper widths, m, or None.
        obs_time: time of the observation the chunk was computed from, s.
    """

    t0: float
    dt: float
    q: np.ndarray
    gripper: np.ndarray | None = None
    obs_time: float = field(default=float("nan"))

    def __post_init__(self) -> None:
        q = np.array(self.q, dtype=float)
        if q.ndim != 2 or q.shape[0] < 2:
            raise ShapeError("TrajectoryChunk.q", q.shape, ("Tp>=2", "dof"))
        if not (np.isfinite(self.dt) and self.dt > 0):
            raise ValueError(
                f"TrajectoryChunk.dt must be a positive number of seconds, got {self.dt}"
            )
        if not np.isfinite(self.t0):
            raise ValueError(f"TrajectoryChunk.t0 must be finite, got {self.t0}")
        q.setflags(write=False)
        object.__setattr__(self, "q", q)
        if self.gripper is not None:
            gripper = np.array(self.gripper, dtype=float)
            if gripper.shape != (q.shape[0],):
                raise ShapeError("TrajectoryChunk.gripper", gripper.shape, (q.shape[0],))
            gripper.setflags(write=False)
            object.__setattr__(self, "gripper", gripper)

    @property
    def horizon(self) -> int:
        """Number of waypoints Tp."""
        return self.q.shape[0]

    @property
    def t_end(self) -> float:
        """Time of the last waypoint, s."""
        return self.t0 + (self.horizon - 1) * self.dt
