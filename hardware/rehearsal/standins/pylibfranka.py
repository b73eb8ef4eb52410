"""A stand-in for pylibfranka 0.21 (the calls `robostack.hardware.franka` makes), on a `VirtualArm`.

Semantics followed (pylibfranka's docstrings, libfranka's documentation):

- ``Robot(address, realtime_config)`` connects or raises `NetworkException`.
- Outside a motion, ``read_once`` returns the state; inside one it raises
  `InvalidOperationException` (the motion owns the connection).
- ``start_torque_control()`` returns an `ActiveControlBase`; its ``readOnce`` blocks until the
  next 1 ms state and returns ``(RobotState, Duration)``, the Duration being the time since
  the previous read (0 at the first; more than 1 ms means lost packets);
  ``writeOnce(Torques)`` sends the torque for that millisecond. FCI adds gravity itself.
- The robot aborts a motion with a reflex when a commanded torque changes faster than
  1000 Nm/s, a joint exceeds its velocity limit, or an external torque exceeds the upper
  collision threshold (``set_collision_behavior``); the robot mode becomes Reflex and the
  next ``readOnce`` raises `ControlException`. A pressed user stop (emergency stop) does the
  same with robot mode UserStopped. ``automatic_error_recovery`` clears a reflex, not a
  pressed user stop.
- A lost connection makes ``readOnce`` raise `NetworkException`.
- ``Model`` computes gravity, Coriolis and mass (column-major 7x7) from a `RobotState`.
- ``Gripper(address)``: ``move``/``grasp`` return True when done, ``read_once`` the width.
"""

from __future__ import annotations

import enum

import numpy as np

from robostack.core.errors import RobotConnectionError
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.hardware.rehearsal.standins.registry import lookup
from robostack.hardware.rehearsal.virtual.arm import VirtualArm

__version__ = "0.21.3-standin"
TORQUE_RATE_MAX = 1000.0  # Nm/s, FCI's limit on the derivative of the commanded torque


class FrankaException(Exception):
    pass


class NetworkException(RuntimeError):
    pass


class ControlException(RuntimeError):
    pass


class CommandException(RuntimeError):
    pass


class InvalidOperationException(RuntimeError):
    pass


class RealtimeException(RuntimeError):
    pass


class RealtimeConfig(enum.Enum):
    kEnforce = 0
    kIgnore = 1


class RobotMode(enum.Enum):
    Other = 0
    Idle = 1
    Move = 2
    Guiding = 3
    Reflex = 4
    UserStopped = 5
    AutomaticErrorRecovery = 6


class Duration:
    def __init__(self, seconds: float):
        self._s = seconds

    def to_sec(self) -> float:
        return self._s


class Errors:
    """Error flags; only the ones the stand-in raises are kept."""

    NAMES = (
        "controller_torque_discontinuity",
        "joint_velocity_violation",
        "joint_reflex",
        "communication_constraints_violation",
    )

    def __init__(self, active: tuple[str, ...] = ()):
        for name in self.NAMES:
            setattr(self, name, name in active)

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in self.NAMES)

    def __str__(self) -> str:
        return "[" + ", ".join(f'"{n}"' for n in self.NAMES if getattr(self, n)) + "]"


class RobotState:
    """The fields the backend reads."""

    def __init__(self, arm: VirtualArm, mode: RobotMode, errors: Errors, last: Errors, load):
        s = arm.state()
        self.q, self.dq = list(s.q), list(s.dq)
        self.tau_J = list(s.tau)
        self.tau_ext_hat_filtered = list(s.tau_ext)
        self.time = Duration(arm.t)
        self.robot_mode = mode
        self.current_errors, self.last_motion_errors = errors, last
        self.m_load = load
        self.control_command_success_rate = 1.0


class Torques:
    def __init__(self, tau_J):
        self.tau_J = list(tau_J)
        self.motion_finished = False


class Model:
    def __init__(self, model: RigidBodyModel):
        self._model = model

    def gravity(self, state: RobotState) -> list[float]:
        return list(self._model.gravity(np.array(state.q)))

    def coriolis(self, state: RobotState) -> list[float]:
        return list(self._model.coriolis(np.array(state.q), np.array(state.dq)))

    def mass(self, state: RobotState) -> list[float]:
        return list(self._model.mass_matrix(np.array(state.q)).flatten(order="F"))


class Robot:
    def __init__(self, robot_ip_address: str, realtime_config=RealtimeConfig.kEnforce):
        try:
            self._arm = lookup(robot_ip_address)
        except RobotConnectionError as error:
            raise NetworkException(f"libfranka: Connection error: {error}") from None
        self._mode = RobotMode.Idle
        self._control: ActiveControlBase | None = None
        self._last_errors = Errors()
        self._upper_torque = np.full(7, 20.0)
        self.load_mass = 0.0
        self.impedance: list[float] | None = None

    def _check_connected(self) -> None:
        if self._arm.fault_due("communication_loss"):
            raise NetworkException("libfranka: UDP receive: Timeout")

    def read_once(self) -> RobotState:
        self._check_connected()
        if self._control is not None and not self._control.finished:
            raise InvalidOperationException("libfranka: cannot read while a motion is running")
        if self._arm.fault_due("emergency_stop"):
            self._mode = RobotMode.UserStopped
        return RobotState(self._arm, self._mode, Errors(), self._last_errors, self.load_mass)

    def set_collision_behavior(self, lower_tau, upper_tau, lower_force, upper_force) -> None:
        self._upper_torque = np.array(upper_tau, dtype=float)

    def set_joint_impedance(self, stiffness) -> None:
        self.impedance = list(stiffness)

    def set_load(self, mass, com, inertia) -> None:
        self.load_mass = float(mass)

    def load_model(self) -> Model:
        return Model(RigidBodyModel(get_robot("panda")))

    def start_torque_control(self) -> ActiveControlBase:
        self._check_connected()
        if self._mode is not RobotMode.Idle:
            raise ControlException(
                f"libfranka: Move command rejected: robot mode is {self._mode.name}"
            )
        if self._control is not None and not self._control.finished:
            raise InvalidOperationException("libfranka: a motion is already running")
        self._mode = RobotMode.Move
        self._control = ActiveControlBase(self)
        return self._control

    def automatic_error_recovery(self) -> None:
        if self._mode is RobotMode.UserStopped:
            raise CommandException("libfranka: automatic error recovery: user stop is pressed")
        self._mode = RobotMode.Idle
        self._last_errors = Errors()

    def stop(self) -> None:
        if self._control is not None:
            self._control.finished = True
        if self._mode is RobotMode.Move:
            self._mode = RobotMode.Idle

    # the motion's side of the robot
    def _abort(self, mode: RobotMode, errors: Errors) -> None:
        self._mode, self._last_errors = mode, errors


class ActiveControlBase:
    def __init__(self, robot: Robot):
        self._robot = robot
        self.finished = False
        self._last_read_t: float | None = None
        self._prev_tau = np.zeros(7)
        self._pending: str | None = None

    def readOnce(self) -> tuple[RobotState, Duration]:
        robot, arm = self._robot, self._robot._arm
        robot._check_connected()
        if self.finished:
            raise ControlException("libfranka: readOnce must not be called after the motion ended")
        if arm.fault_due("emergency_stop"):
            self._end(RobotMode.UserStopped, Errors())
            raise ControlException("libfranka: Motion aborted: user stop pressed")
        if arm.fault_due("reflex"):
            arm.clear("reflex")
            self._pending = "joint_reflex"
        if self._pending is not None:
            errors = Errors((self._pending,))
            self._end(RobotMode.Reflex, errors)
            raise ControlException(f"libfranka: Motion aborted by reflex! {errors}")
        arm.wait()
        state = RobotState(arm, RobotMode.Move, Errors(), robot._last_errors, robot.load_mass)
        waited = 0.0 if self._last_read_t is None else arm.t - self._last_read_t
        self._last_read_t = arm.t
        return state, Duration(waited)

    def writeOnce(self, command: Torques) -> None:
        robot, arm = self._robot, self._robot._arm
        if self.finished:
            raise ControlException("libfranka: writeOnce must not be called after the motion ended")
        tau = np.array(command.tau_J, dtype=float)
        if command.motion_finished:
            self._end(RobotMode.Idle, Errors())
            return
        if not np.isfinite(tau).all():
            raise CommandException("libfranka: commanded torque is not finite")
        if np.abs(tau - self._prev_tau).max() / arm.period > TORQUE_RATE_MAX * (1 + 1e-9):
            self._pending = "controller_torque_discontinuity"
        self._prev_tau = tau
        arm.step(tau, robot._gripper_target())
        state = arm.state()
        if (np.abs(state.dq) > arm.spec.dq_max).any():
            self._pending = "joint_velocity_violation"
        elif (np.abs(state.tau_ext) > robot._upper_torque).any():
            self._pending = "joint_reflex"

    def _end(self, mode: RobotMode, errors: Errors) -> None:
        self.finished = True
        self._robot._abort(mode, errors)


def _gripper_target(self: Robot) -> float | None:
    gripper = _GRIPPERS.get(id(self._arm))
    return None if gripper is None else gripper.target


Robot._gripper_target = _gripper_target
_GRIPPERS: dict[int, Gripper] = {}


class GripperState:
    def __init__(self, width: float, max_width: float, grasped: bool, t: float):
        self.width, self.max_width, self.is_grasped = width, max_width, grasped
        self.temperature, self.time = 30, Duration(t)


class Gripper:
    def __init__(self, franka_address: str):
        try:
            self._arm = lookup(franka_address)
        except RobotConnectionError as error:
            raise NetworkException(f"libfranka gripper: Connection error: {error}") from None
        self.target = self._arm.spec.gripper_width_max
        _GRIPPERS[id(self._arm)] = self

    def homing(self) -> bool:
        self.target = self._arm.spec.gripper_width_max
        return True

    def move(self, width: float, speed: float) -> bool:
        if not 0.0 <= width <= self._arm.spec.gripper_width_max:
            raise CommandException(f"libfranka gripper: width {width} m out of range")
        self.target = float(width)
        return True

    def grasp(self, width, speed, force, epsilon_inner=0.005, epsilon_outer=0.005) -> bool:
        self.target = float(width)
        return True

    def stop(self) -> bool:
        return True

    def read_once(self) -> GripperState:
        width = self._arm.state().gripper_width or 0.0
        max_width = self._arm.spec.gripper_width_max
        return GripperState(width, max_width, width < self.target - 0.002, self._arm.t)

    def server_version(self) -> int:
        return 3
