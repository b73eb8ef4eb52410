"""A stand-in for pylibfranka 0.21 (the calls `robostack.hardware.franka` makes), on a `VirtualArm`.

Semantics followed (pylibfranka's docstrings, libfranka's documentation):

- ``Robot(address, realtime_config)`` connects or raises `NetworkException`.
- Outside a motion, ``read_once`` returns the state; inside one it raises
  `InvalidOperationException` (the motion owns the connection).
- ``start_torque_control()`` (and ``start_joint_velocity_control(ControllerMode)``) return an
  `ActiveControlBase`; its ``readOnce`` blocks until the next 1 ms state and returns
  ``(RobotState, Duration)``, the Duration being the time since the previous read (0 at the
  first; more than 1 ms means lost packets); ``writeOnce(Torques)`` sends the torque for that
  millisecond (``writeOnce(JointVelocities)`` the joint velocities). FCI adds gravity itself.
- When the robot aborts a motion (a reflex, a pressed user stop) the next ``readOnce`` raises
  `ControlException`; ``automatic_error_recovery`` clears a reflex, not a pressed user stop.
  What the robot does is the virtual controller's model (`FrankaMotion`: one per arm, each
  ``writeOnce`` one period of it).
- A lost connection makes ``readOnce`` raise `NetworkException`.
- ``Model`` computes gravity, Coriolis and mass (column-major 7x7) from a `RobotState`.
- ``Gripper(address)``: ``move``/``grasp``/``homing`` block until the fingers stop and return
  whether they succeeded; ``read_once`` gives the width and ``is_grasped``.
"""

from __future__ import annotations

import enum
import time

import numpy as np

from robostack.core.errors import RobotConnectionError
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.hardware.rehearsal.standins.registry import lookup
from robostack.hardware.rehearsal.virtual.arm import VirtualArm
from robostack.hardware.rehearsal.virtual.franka_hand import TIMEOUT_S, Fingers
from robostack.hardware.rehearsal.virtual.franka_motion import FrankaMotion, Mode
from robostack.sim.scene import GRIPPER_SPEED

__version__ = "0.21.3-standin"


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


class ControllerMode(enum.Enum):
    JointImpedance = 0
    CartesianImpedance = 1


class Duration:
    def __init__(self, seconds: float):
        self._s = seconds

    def to_sec(self) -> float:
        return self._s


class Errors:
    """Error flags; only the ones `FrankaMotion` raises are kept."""

    NAMES = (
        "controller_torque_discontinuity",
        "joint_motion_generator_velocity_limits_violation",
        "joint_motion_generator_velocity_discontinuity",
        "joint_motion_generator_acceleration_discontinuity",
        "joint_velocity_violation",
        "joint_reflex",
        "communication_constraints_violation",
    )

    def __init__(self, active: frozenset[str] = frozenset()):
        for name in self.NAMES:
            setattr(self, name, name in active)

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in self.NAMES)

    def __str__(self) -> str:
        return "[" + ", ".join(f'"{n}"' for n in self.NAMES if getattr(self, n)) + "]"


class RobotState:
    """The fields the backend reads."""

    def __init__(self, motion: FrankaMotion, load: float):
        arm = motion.arm
        s = arm.state()
        self.q, self.dq = list(s.q), list(s.dq)
        self.dq_d, self.ddq_d = list(motion.dq_d), list(motion.ddq_d)
        self.tau_J = list(s.tau)
        self.tau_ext_hat_filtered = list(s.tau_ext)
        self.time = Duration(arm.t)
        self.robot_mode = RobotMode(motion.mode)
        self.current_errors = Errors(motion.errors)
        self.last_motion_errors = Errors(motion.last_motion_errors)
        self.m_load = load
        self.control_command_success_rate = 1.0


class Torques:
    def __init__(self, tau_J):
        self.tau_J = list(tau_J)
        self.motion_finished = False


class JointVelocities:
    def __init__(self, dq):
        self.dq = list(dq)
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
            arm = lookup(robot_ip_address)
        except RobotConnectionError as error:
            raise NetworkException(f"libfranka: Connection error: {error}") from None
        self.motion = _motion(arm)
        self._control: ActiveControlBase | None = None
        self.load_mass = 0.0
        self.impedance: list[float] | None = None

    def _check_connected(self) -> None:
        if self.motion.arm.fault_due("communication_loss"):
            raise NetworkException("libfranka: UDP receive: Timeout")

    def read_once(self) -> RobotState:
        self._check_connected()
        if self._control is not None and not self._control.finished:
            raise InvalidOperationException("libfranka: cannot read while a motion is running")
        self.motion.faults()
        return RobotState(self.motion, self.load_mass)

    def set_collision_behavior(self, lower_tau, upper_tau, lower_force, upper_force) -> None:
        self.motion.collision_torque = np.array(upper_tau, dtype=float)

    def set_joint_impedance(self, stiffness) -> None:
        self.impedance = list(stiffness)

    def set_load(self, mass, com, inertia) -> None:
        self.load_mass = float(mass)

    def load_model(self) -> Model:
        return Model(RigidBodyModel(get_robot("panda")))

    def start_torque_control(self) -> ActiveControlBase:
        return self._start()

    def start_joint_velocity_control(self, control_type: ControllerMode) -> ActiveControlBase:
        if control_type is not ControllerMode.JointImpedance:
            raise CommandException("libfranka: the stand-in serves joint impedance only")
        return self._start(velocity=True)

    def _start(self, *, velocity: bool = False) -> ActiveControlBase:
        self._check_connected()
        if self._control is not None and not self._control.finished:
            raise InvalidOperationException("libfranka: a motion is already running")
        self.motion.faults()
        if not self.motion.start(velocity=velocity):
            raise ControlException(
                f"libfranka: Move command rejected: robot mode is {self.motion.mode.name}"
            )
        self._control = ActiveControlBase(self)
        return self._control

    def automatic_error_recovery(self) -> None:
        if not self.motion.recover():
            raise CommandException("libfranka: automatic error recovery: user stop is pressed")

    def stop(self) -> None:
        if self._control is not None:
            self._control.finished = True
        self.motion.stop()


class ActiveControlBase:
    def __init__(self, robot: Robot):
        self._robot = robot
        self.finished = False
        self._last_read_t: float | None = None

    def readOnce(self) -> tuple[RobotState, Duration]:
        robot, motion = self._robot, self._robot.motion
        robot._check_connected()
        if self.finished:
            raise ControlException("libfranka: readOnce must not be called after the motion ended")
        motion.faults()
        if not motion.moving:  # the robot ended the motion
            self.finished = True
            if motion.mode is Mode.UserStopped:
                raise ControlException("libfranka: Motion aborted: user stop pressed")
            errors = Errors(motion.last_motion_errors)
            raise ControlException(f"libfranka: Motion aborted by reflex! {errors}")
        arm = motion.arm
        arm.wait()
        state = RobotState(motion, robot.load_mass)
        waited = 0.0 if self._last_read_t is None else arm.t - self._last_read_t
        self._last_read_t = arm.t
        return state, Duration(waited)

    def writeOnce(self, command: Torques | JointVelocities) -> None:
        if self.finished:
            raise ControlException("libfranka: writeOnce must not be called after the motion ended")
        velocity = isinstance(command, JointVelocities)
        values = np.array(command.dq if velocity else command.tau_J, dtype=float)
        if not np.isfinite(values).all():
            raise CommandException("libfranka: commanded value is not finite")
        motion = self._robot.motion
        self.finished = command.motion_finished
        if not motion.moving:
            return
        if velocity is not motion.velocity:
            raise CommandException("libfranka: the command does not fit the running motion")
        if velocity:
            motion.command_velocity(values, finished=command.motion_finished)
        else:
            motion.command(values, finished=command.motion_finished)


_MOTIONS: dict[int, FrankaMotion] = {}


def _motion(arm: VirtualArm) -> FrankaMotion:
    """The controller model of ``arm``, one per arm (its Hand drives the fingers)."""
    if id(arm) not in _MOTIONS or _MOTIONS[id(arm)].arm is not arm:
        _MOTIONS[id(arm)] = FrankaMotion(arm, gripper=lambda: _gripper_target(arm))
    return _MOTIONS[id(arm)]


def _gripper_target(arm: VirtualArm) -> float | None:
    """One period of the Hand's finger control on ``arm``: the servos' target width, m."""
    gripper = _GRIPPERS.get(id(arm))
    if gripper is None or gripper._arm is not arm:
        return None
    return gripper.fingers.step(_width(arm), arm.t, arm.period)


def _width(arm: VirtualArm) -> float:
    return float(arm.sim.read().gripper_width or 0.0)


_GRIPPERS: dict[int, Gripper] = {}


class GripperState:
    def __init__(self, width: float, max_width: float, grasped: bool, t: float):
        self.width, self.max_width, self.is_grasped = width, max_width, grasped
        self.temperature, self.time = 30, Duration(t)


class Gripper:
    """The Hand on the arm served at ``franka_address``: `Fingers` drive its fingers, one
    control period per step of the arm; ``homing``, ``move`` and ``grasp`` block until the
    fingers have finished (the arm is stepped by whoever runs the robot's motion meanwhile),
    at most `TIMEOUT_S` of wall time."""

    def __init__(self, franka_address: str):
        try:
            self._arm = lookup(franka_address)
        except RobotConnectionError as error:
            raise NetworkException(f"libfranka gripper: Connection error: {error}") from None
        self.fingers = Fingers(width_max=self._arm.spec.gripper_width_max, width=_width(self._arm))
        _GRIPPERS[id(self._arm)] = self

    def homing(self) -> bool:
        self.fingers.move(self._arm.spec.gripper_width_max, GRIPPER_SPEED)
        return self._finish(self.fingers.arrived)

    def move(self, width: float, speed: float) -> bool:
        if not 0.0 <= width <= self._arm.spec.gripper_width_max:
            raise CommandException(f"libfranka gripper: width {width} m out of range")
        self.fingers.move(float(width), float(speed))
        return self._finish(self.fingers.arrived)

    def grasp(self, width, speed, force, epsilon_inner=0.005, epsilon_outer=0.005) -> bool:
        self.fingers.grasp(
            float(width), float(speed), float(force), float(epsilon_inner), float(epsilon_outer)
        )
        return self._finish(self.fingers.gripped)

    def stop(self) -> bool:
        self.fingers.halt(_width(self._arm))
        return True

    def read_once(self) -> GripperState:
        width = _width(self._arm)
        max_width = self._arm.spec.gripper_width_max
        return GripperState(width, max_width, self.fingers.grasped(width), self._arm.t)

    def server_version(self) -> int:
        return 3

    def _finish(self, check) -> bool:
        """Wait for the fingers to settle; whether ``check`` passes at the width they stop at
        (False after `TIMEOUT_S`)."""
        arm, since = self._arm, self._arm.t
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            if self.fingers.settled(arm.t, since):
                return check(_width(arm))
            time.sleep(0.001)
        return False
