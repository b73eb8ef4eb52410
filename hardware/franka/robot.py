"""`FrankaRobot`: the `Robot` interface on a Franka arm over FCI, through pylibfranka.

Torque control, or joint velocity control (`FrankaConfig.command_mode`), at 1 kHz through
pylibfranka's ActiveControl API: the first `write` starts the motion (``start_torque_control``,
or ``start_joint_velocity_control`` with the robot's joint impedance controller tracking the
velocity motion generator); from then on `read` is ``readOnce``, which blocks until the robot's
next 1 ms state (so the robot paces the loop), and `write` is ``writeOnce``, until `end_motion`
finishes the motion (between loop runs).
FCI adds gravity compensation itself, which is the torque semantics of the `Robot` interface
(docs/architecture.md).

libfranka's exceptions become `RobotFaultError`s whose ``check`` names the safety event:
``emergency_stop`` (the user stop was pressed), ``franka_reflex`` (the robot aborted the
motion: collision, torque discontinuity, velocity violation; the message lists the errors),
``communication_loss``, ``franka_command``. After a fault the backend refuses to move until
`recover` is called, on an operator's explicit request only.
"""

from __future__ import annotations

import contextlib
import math
import threading
from types import ModuleType

import numpy as np

from robostack.controllers.rate_limit import VelocityLimits, limit_velocity
from robostack.core.errors import (
    GraspFailedError,
    RobostackError,
    RobotConnectionError,
    RobotFaultError,
)
from robostack.core.robot import Robot
from robostack.core.robots import get_robot
from robostack.core.types import CommandMode, JointCommand, JointState
from robostack.hardware.franka.config import FrankaConfig
from robostack.hardware.franka.hand_process import HandProcess
from robostack.hardware.vendor import import_vendor, lost_periods

PERIOD = 0.001  # FCI's control period, s
STOP_PERIODS = 1000  # end_motion brakes a velocity motion for at most this many periods


class FrankaRobot(Robot):
    """A Franka arm at ``address``, torque or joint velocity controlled over FCI.

    Args:
        address: the robot's IP address or host name (the Control box's FCI interface).
        config: what is set on the robot before it moves.
        client: a module with pylibfranka's API to use instead of the installed pylibfranka;
            its ``Gripper`` runs in this process. Default: pylibfranka, its ``Gripper`` in a
            child process (`HandProcess`: its blocking calls hold the interpreter).
    """

    paces_itself = True

    def __init__(
        self,
        *,
        address: str,
        config: FrankaConfig | None = None,
        client: ModuleType | None = None,
    ):
        self.address, self.config = address, config or FrankaConfig()
        self.spec = get_robot("panda").spec
        self.command_mode = self.config.mode
        self._velocity_limits = VelocityLimits.for_interface(self.spec)
        self.lost_packets = 0
        self._client = client
        self._open_hand = HandProcess if client is None else client.Gripper
        self._robot = self._control = self._model = self._gripper = None
        self._state = None
        self._fault: RobotFaultError | None = None
        self._tau_sent = np.zeros(self.spec.dof)
        self._dq_sent = np.zeros(self.spec.dof)  # the last velocity command, rad/s,
        self._ddq_sent = np.zeros(self.spec.dof)  # and its acceleration, rad/s^2

    # --- Robot -------------------------------------------------------------------------

    def connect(self) -> None:
        if self._robot is not None:
            return
        franka = self._client or import_vendor("pylibfranka", extra="franka")
        self._client, c = franka, self.config
        modes = {"enforce": franka.RealtimeConfig.kEnforce, "ignore": franka.RealtimeConfig.kIgnore}
        realtime = modes[c.realtime]
        try:
            robot = franka.Robot(self.address, realtime)
            robot.set_collision_behavior(
                list(c.collision_torque_lower),
                list(c.collision_torque_upper),
                list(c.collision_force_lower),
                list(c.collision_force_upper),
            )
            robot.set_joint_impedance(list(c.joint_impedance))
            robot.set_load(c.load_mass, list(c.load_com), list(c.load_inertia))
            self._model = robot.load_model()
            self._gripper = _GripperWorker(self._open_hand(self.address), c) if c.gripper else None
        except (franka.FrankaException, RuntimeError) as error:  # Network-, Realtime-, ...
            raise RobotConnectionError(f"Franka at {self.address}: {error}") from None
        self._robot = robot

    def read(self) -> JointState:
        robot = self._require()
        with self._faults():
            if self._control is None:
                state = robot.read_once()
            else:
                state, waited = self._control.readOnce()
                self.lost_packets += lost_periods(waited.to_sec(), PERIOD)
        self._state = state
        return JointState(
            t=state.time.to_sec(),
            q=np.array(state.q, dtype=float),
            dq=np.array(state.dq, dtype=float),
            tau=np.array(state.tau_J, dtype=float),
            tau_ext=np.array(state.tau_ext_hat_filtered, dtype=float),
            gripper_width=None if self._gripper is None else self._gripper.width,
        )

    def write(self, command: JointCommand) -> None:
        robot = self._require()
        if command.mode is not self.command_mode:
            raise RobostackError(
                f"this Franka session takes {self.command_mode.value} commands "
                f"({self.config.command_mode}), got {command.mode.value}"
            )
        if self._fault is not None:
            raise self._fault
        values = np.asarray(command.values, dtype=float)
        with self._faults():
            if self._control is None:
                self._control = self._start_motion(robot)
                # ActiveControl alternates: a read opens each write
                self._state, _ = self._control.readOnce()
            if self.command_mode is CommandMode.VELOCITY:
                self._send_velocity(values)
            else:
                tau = self._shape(values)
                self._control.writeOnce(self._client.Torques(tau.tolist()))
                self._tau_sent = tau
        if self._gripper is not None:
            self._gripper.request(command.gripper)

    def end_motion(self) -> None:
        """Finish the motion (``motion_finished``); the next `write` starts another. The
        robot's own controller holds the arm meanwhile. A torque motion's finishing command
        repeats the last torque sent: a jump to zero would exceed FCI's 1000 Nm/s and end in a
        ``controller_torque_discontinuity`` reflex. A velocity motion first brakes the commanded
        velocity to zero within the interface's acceleration and jerk (a few periods after a
        HOLD or STOP has slowed the arm), then finishes at rest, as the motion generator
        requires."""
        if self._control is None or self._fault is not None:
            return
        with self._faults():
            if self.command_mode is CommandMode.VELOCITY:
                self._brake_and_finish()
            else:
                finish = self._client.Torques(self._tau_sent.tolist())
                finish.motion_finished = True
                self._control.writeOnce(finish)
        self._control = None
        self._rest()

    def close(self) -> None:
        """End the motion, stop the robot and the gripper, disconnect; each step is attempted
        even when an earlier one fails."""
        if self._robot is None:
            return
        with contextlib.suppress(Exception):
            self.end_motion()
        with contextlib.suppress(Exception):
            self._robot.stop()
        if self._gripper is not None:
            self._gripper.close()
        self._robot = self._control = self._model = self._gripper = None

    # --- Franka ------------------------------------------------------------------------

    def recover(self) -> None:
        """Clear a reflex (``automatic_error_recovery``): call only on an operator's request.

        A pressed user stop cannot be cleared from here; it raises `RobotFaultError`."""
        robot = self._require()
        with self._faults():
            robot.automatic_error_recovery()
        self._fault = None
        self._control = None
        self._rest()

    def dynamics_model(self) -> FrankaModel:
        """The robot's own dynamics model (pylibfranka ``Model``) at the last measured state."""
        self._require()
        return FrankaModel(self._model, lambda: self._state)

    def status(self) -> dict:
        """The robot's mode, errors, payload and versions, read outside a motion (preflight)."""
        robot = self._require()
        with self._faults():
            state = robot.read_once()
        self._state = state
        return {
            "robot_mode": state.robot_mode.name,
            "current_errors": str(state.current_errors),
            "errors_active": bool(state.current_errors),
            "last_motion_errors": str(state.last_motion_errors),
            "payload_kg": float(state.m_load),
            "q": [float(v) for v in state.q],
            "client": f"pylibfranka {getattr(self._client, '__version__', 'unknown')}",
            "firmware": "accepted at connect (libfranka refuses an incompatible FCI server)",
            "gripper": None if self._gripper is None else self._gripper.version,
            "command_mode": self.config.command_mode,
            "ready": state.robot_mode.name == "Idle" and not state.current_errors,
        }

    # --- helpers -----------------------------------------------------------------------

    def _start_motion(self, robot):
        """Start the configured motion; its ActiveControl."""
        if self.command_mode is CommandMode.VELOCITY:
            return robot.start_joint_velocity_control(self._client.ControllerMode.JointImpedance)
        return robot.start_torque_control()

    def _limited(self, dq: np.ndarray):
        """``dq`` (dof,) rad/s within the interface's limits one period after the last command
        sent and its acceleration: the robot's motion generator checks each command against
        the one before it."""
        return limit_velocity(dq, self._dq_sent, self._ddq_sent, self._velocity_limits, PERIOD)

    def _send_velocity(self, dq: np.ndarray, *, finished: bool = False) -> None:
        """Send ``dq`` (dof,) rad/s within the interface's limits (`_limited`; module doc of
        `robostack.hardware.franka.config`)."""
        limited = self._limited(dq)
        command = self._client.JointVelocities(limited.dq.tolist())
        command.motion_finished = finished
        self._control.writeOnce(command)
        self._dq_sent, self._ddq_sent = limited.dq, limited.ddq

    def _brake_and_finish(self) -> None:
        """Command zero velocity, limited, until a period reaches it within the limits; that
        period's command finishes the motion (after at most `STOP_PERIODS`)."""
        zeros = np.zeros(self.spec.dof)
        for _ in range(STOP_PERIODS):
            step = self._limited(zeros)
            if not (step.velocity | step.acceleration | step.jerk).any():
                break
            self._send_velocity(zeros)
            self._state, _ = self._control.readOnce()
        self._send_velocity(zeros, finished=True)

    def _rest(self) -> None:
        """No motion runs: the next one starts from zero torque, or from rest."""
        for sent in (self._tau_sent, self._dq_sent, self._ddq_sent):
            sent[:] = 0.0

    def _shape(self, tau: np.ndarray) -> np.ndarray:
        """Low-pass (libfranka's first-order filter), then clamp the torque rate (module doc)."""
        cutoff = self.config.lowpass_cutoff_hz
        if cutoff is not None:
            gain = 2 * math.pi * cutoff * PERIOD / (2 * math.pi * cutoff * PERIOD + 1)
            tau = gain * tau + (1 - gain) * self._tau_sent
        step = self.config.torque_rate_limit * PERIOD
        return self._tau_sent + np.clip(tau - self._tau_sent, -step, step)

    @contextlib.contextmanager
    def _faults(self):
        """Turn libfranka's exceptions into `RobotFaultError`s (module doc)."""
        franka = self._client
        try:
            yield
        except franka.ControlException as error:
            self._control = None
            self._fault = self._diagnose(error)
            raise self._fault from None
        except franka.NetworkException as error:
            self._fault = RobotFaultError(
                "communication_loss", f"lost the connection to the Franka: {error}"
            )
            raise self._fault from None
        except franka.CommandException as error:
            self._fault = RobotFaultError("franka_command", f"the Franka refused: {error}")
            raise self._fault from None

    def _diagnose(self, error: Exception) -> RobotFaultError:
        try:
            state = self._robot.read_once()
        except Exception:  # the connection is gone too
            return RobotFaultError("franka_control", f"the Franka aborted the motion: {error}")
        mode = state.robot_mode.name
        if mode == "UserStopped":
            return RobotFaultError("emergency_stop", f"the user stop was pressed: {error}")
        if mode == "Reflex":
            return RobotFaultError(
                "franka_reflex", f"reflex, errors {state.last_motion_errors}: {error}"
            )
        return RobotFaultError("franka_control", f"motion aborted (mode {mode}): {error}")

    def _require(self):
        if self._robot is None:
            raise RobostackError("FrankaRobot is not connected: call connect() or use `with`")
        return self._robot


class FrankaModel:
    """`robostack.core.robot.DynamicsModel` over pylibfranka's ``Model``.

    pylibfranka evaluates the model at a `RobotState`, so this adapter answers at the last
    measured state only (what computed torque asks for); another ``q`` raises ValueError.
    """

    def __init__(self, model, last_state):
        self._model, self._last_state = model, last_state

    def _state(self, q: np.ndarray):
        state = self._last_state()
        if state is None or not np.allclose(q, state.q, atol=1e-12):
            raise ValueError("the Franka model answers at the last measured state only")
        return state

    def mass_matrix(self, q: np.ndarray) -> np.ndarray:
        return np.asarray(self._model.mass(self._state(q)), dtype=float).reshape(7, 7, order="F")

    def coriolis(self, q: np.ndarray, dq: np.ndarray) -> np.ndarray:
        return np.asarray(self._model.coriolis(self._state(q)), dtype=float)

    def gravity(self, q: np.ndarray) -> np.ndarray:
        return np.asarray(self._model.gravity(self._state(q)), dtype=float)


class _GripperWorker:
    """Runs the Hand's blocking Gripper calls off the control thread (pylibfranka's through a
    `HandProcess`, whose waits release the interpreter).

    `request` stores the newest target (the 1 kHz loop never waits); a worker thread sends it
    and polls the state every `POLL_S`. A target at or below ``config.grasp_below`` is a close
    command, sent as ``grasp`` with the config's width, epsilons, speed and force; its success
    is read back (``is_grasped``). A grasp that holds nothing, or an object that slips out of a
    held grasp, is raised once from the next `request` as a `GraspFailedError`; any other
    failure of the Hand as a `RobotFaultError`.
    """

    POLL_S = 0.05

    def __init__(self, gripper, config: FrankaConfig):
        self._gripper, self._config = gripper, config
        self.width = float(gripper.read_once().width)
        self.version = gripper.server_version()
        self.error: Exception | None = None
        self.failure: GraspFailedError | None = None
        self._holding = False  # the last grasp holds an object
        self._target: float | None = None
        self._sent: float | None = None
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="franka-gripper", daemon=True)
        self._thread.start()

    def request(self, width: float | None) -> None:
        if self.error is not None:
            raise RobotFaultError("gripper", f"the Franka Hand failed: {self.error}")
        failure, self.failure = self.failure, None
        if failure is not None:
            raise failure
        if width is None:
            return
        width = 0.0 if width <= self._config.grasp_below else float(width)  # close: one command
        last = self._sent if self._target is None else self._target
        if last is None or abs(width - last) >= self._config.gripper_deadband:
            self._target = width
            self._wake.set()

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait(self.POLL_S)
            self._wake.clear()
            try:
                target, self._target = self._target, None
                if target is not None:
                    self._send(target)
                state = self._gripper.read_once()
                self.width = float(state.width)
                if self._holding and not state.is_grasped:
                    self._holding = False
                    self.failure = self._failed("grasp_lost", "let go of the object", self.width)
            except Exception as error:  # reported to the loop at its next request
                self.error = error
                return

    def _send(self, target: float) -> None:
        c, self._holding = self._config, False
        self._sent = target
        if target > 0.0:
            self._gripper.move(target, c.gripper_speed)
            return
        epsilons = (c.grasp_epsilon_inner, c.grasp_epsilon_outer)
        done = self._gripper.grasp(c.grasp_width, c.grasp_speed, c.grasp_force, *epsilons)
        state = self._gripper.read_once()
        self._holding = bool(done and state.is_grasped)
        if not self._holding:
            self.failure = self._failed("grasp_failed", "closed on no object", float(state.width))

    def _failed(self, check: str, what: str, width: float) -> GraspFailedError:
        c = self._config
        low, high = c.grasp_width - c.grasp_epsilon_inner, c.grasp_width + c.grasp_epsilon_outer
        return GraspFailedError(
            check,
            f"the Franka Hand {what}: the fingers stand {width * 1e3:.1f} mm apart, a grasped "
            f"object keeps them within [{low * 1e3:.1f}, {high * 1e3:.1f}] mm",
            width=width,
            limit=low if width < low else high,
        )

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=1.0)
        with contextlib.suppress(Exception):
            self._gripper.stop()
