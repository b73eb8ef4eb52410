"""`FrankaMotion`: how a Franka controller runs its arm: modes, torque and joint velocity
motions, reflexes, the idle hold and error recovery.

The one model of the controller's behaviour, driven by the pylibfranka stand-in
(`robostack.hardware.rehearsal.standins.pylibfranka`: a period per ``writeOnce``) and by the
protocol-level virtual controller (`robostack.hardware.rehearsal.virtual.franka_controller`: a
period per tick of its 1 kHz clock).

- Idle, or after a reflex or a user stop, the controller's joint servo holds the arm where the
  last motion ended (`hold`).
- `start` begins a torque motion, or with ``velocity`` a joint velocity motion, from Idle
  only. Each period of a torque motion (`command`) applies the commanded torque on top of
  gravity. Each period of a velocity motion (`command_velocity`) feeds the commanded velocity
  to the motion generator, whose desired position (the integral of the commanded velocity from
  the measured one at the start) a joint impedance tracks (the hold's gains, scaled by the
  arm's inertia at the motion's start: a servo cheap enough for every period). A period
  without a command repeats the last torque, or continues the last velocity at constant
  acceleration, as FCI does.
- Any motion is aborted as a reflex, with the error flagged, by ``lost_commands_limit`` periods
  in a row without a command (`command_lost`: ``communication_constraints_violation``), a
  joint faster than its limit (``joint_velocity_violation``) or an external torque above the
  upper collision threshold (``joint_reflex``, once `collision_torque` is set). A torque motion
  also by a torque rate above `MAX_TORQUE_RATE` between commands
  (``controller_torque_discontinuity``; that torque is not applied). A velocity motion also
  when the commanded signal breaks the robot's limits (`VelocityLimits.of_spec`), each command
  taken one period after the command received before it and that one's acceleration (the
  robot compares consecutive commanded values; a period without a command changes neither):
  a velocity beyond dq_max
  (``joint_motion_generator_velocity_limits_violation``), a change beyond ddq_max per second
  (``joint_motion_generator_velocity_discontinuity``) or a change of that beyond dddq_max per
  second (``joint_motion_generator_acceleration_discontinuity``); and when it is finished while
  not at rest (``joint_motion_generator_velocity_discontinuity``: the generator ends standing
  still). A command marked finished ends the motion after its period (Idle); `stop` ends it at
  once.
- Injected faults (`faults`): ``reflex`` aborts as a joint reflex; ``emergency_stop`` (the user
  stop) ends any motion in UserStopped, which `recover` cannot clear.
- `recover` (automatic error recovery) clears the current errors and returns to Idle.

``errors`` are the current errors (until a recovery), ``last_motion_errors`` the ones that
aborted the last motion (until the next one starts).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence

import numpy as np

from robostack.controllers import ComputedTorque
from robostack.controllers.rate_limit import VelocityLimits
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.core.types import JointReference
from robostack.hardware.rehearsal.virtual import fci
from robostack.hardware.rehearsal.virtual.arm import VirtualArm

MAX_TORQUE_RATE = 1000.0  # Nm/s, FCI's limit on the commanded torque's rate
LOST_COMMANDS_LIMIT = 20  # FCI's: periods in a row without a command abort the motion
HOLD_GAINS = {"kp": 400.0, "kd": 40.0}  # the joint servo (idle hold, velocity), 1/s^2, 1/s
LIMIT_SLACK = 1e-6  # relative rounding allowed on the commanded signal's limits
REST_VELOCITY = 1e-6  # rad/s: a velocity motion finishes at rest, every joint below this


class Mode(enum.IntEnum):
    """The robot mode: libfranka's names, FCI's codes."""

    Idle = fci.MODE_IDLE
    Move = fci.MODE_MOVE
    Reflex = fci.MODE_REFLEX
    UserStopped = fci.MODE_USER_STOPPED


class FrankaMotion:
    """A Franka controller's side of a session on ``arm`` (module doc).

    Args:
        arm: the simulated arm.
        gripper: the Hand's target width now, m (None: the fingers are not driven).
        on_end: called with how a running motion ended: ``finished``, ``reflex``,
            ``user_stop`` or ``stopped``.
        lost_commands_limit: periods in a row without a command that abort a motion (default
            FCI's `LOST_COMMANDS_LIMIT`).
    """

    def __init__(
        self,
        arm: VirtualArm,
        *,
        gripper: Callable[[], float | None] = lambda: None,
        on_end: Callable[[str], None] = lambda how: None,
        lost_commands_limit: int = LOST_COMMANDS_LIMIT,
    ):
        if lost_commands_limit < 1:
            raise ValueError(f"lost_commands_limit must be >= 1, got {lost_commands_limit}")
        self.arm, self.gripper, self.on_end = arm, gripper, on_end
        self.lost_commands_limit = lost_commands_limit
        self.model = RigidBodyModel(get_robot(arm.spec.name))
        gains = {k: np.full(arm.spec.dof, v) for k, v in HOLD_GAINS.items()}
        self.joint_servo = ComputedTorque(model=self.model, **gains)
        self.mode = Mode.Idle
        self.moving = False  # a motion runs
        self.velocity = False  # ... and it is a joint velocity motion
        self.limits = VelocityLimits.of_spec(arm.spec)
        self.errors: frozenset[str] = frozenset()
        self.last_motion_errors: frozenset[str] = frozenset()
        self.collision_torque: np.ndarray | None = None  # (dof,) upper thresholds, Nm
        self.tau = np.zeros(arm.spec.dof)  # the torque in force, Nm
        self.hold_q = arm.state().q  # where the idle hold keeps the arm, rad
        self.q_d = self.hold_q.copy()  # the velocity motion generator: desired position, rad,
        self.dq_d = np.zeros(arm.spec.dof)  # velocity, rad/s,
        self.ddq_d = np.zeros(arm.spec.dof)  # and acceleration, rad/s^2
        self.dq_c = np.zeros(arm.spec.dof)  # the last velocity command received, rad/s,
        self.ddq_c = np.zeros(arm.spec.dof)  # and its acceleration, rad/s^2
        self._inertia = np.eye(arm.spec.dof)  # (dof, dof) at the velocity motion's start
        self._gains = (
            np.full(arm.spec.dof, HOLD_GAINS["kp"]),
            np.full(arm.spec.dof, HOLD_GAINS["kd"]),
        )
        self._missed = 0

    def faults(self) -> None:
        """Apply the injected faults that are due (module doc)."""
        if self.arm.fault_due("emergency_stop") and self.mode is not Mode.UserStopped:
            self.end("user_stop", mode=Mode.UserStopped)
        if self.arm.fault_due("reflex"):
            self.arm.clear("reflex")
            self._abort("joint_reflex")

    def start(self, *, velocity: bool = False) -> bool:
        """Start a torque motion (a joint velocity motion with ``velocity``, from the measured
        position at rest); False (nothing changes) unless Idle with no motion running."""
        if self.mode is not Mode.Idle or self.moving:
            return False
        self.mode, self.moving, self.velocity = Mode.Move, True, velocity
        self.last_motion_errors = frozenset()
        self.tau, self._missed = np.zeros_like(self.tau), 0
        self.q_d = self.arm.state().q
        self._inertia = self.model.mass_matrix(self.q_d)
        for signal in (self.dq_d, self.ddq_d, self.dq_c, self.ddq_c):
            signal[:] = 0.0
        return True

    def command(self, tau: np.ndarray, *, periods: int = 1, finished: bool = False) -> None:
        """One period of the running motion under a new command ``tau`` (dof,) Nm, sent
        ``periods`` control periods after the previous one; ``finished`` ends the motion."""
        self._missed = 0
        rate = np.abs(tau - self.tau) / (periods * self.arm.period)
        if (rate > MAX_TORQUE_RATE + 1e-6).any():
            self._abort("controller_torque_discontinuity")
            return
        self.tau = tau
        if finished:
            self._step(tau)
            self.end("finished", mode=Mode.Idle)
            return
        self._run(tau)

    def command_velocity(
        self,
        dq: np.ndarray,
        *,
        finished: bool = False,
        earlier: Sequence[tuple[np.ndarray, bool]] = (),
    ) -> None:
        """One period of the running velocity motion under a new command ``dq`` (dof,) rad/s;
        ``finished`` ends the motion (module doc: the reflexes, each command checked against
        the one received before it). ``earlier``: the commands, each (dq, finished), that came
        in this same period before ``dq``: checked the same way, in order; the first finished
        one ends the motion, else the newest drives it."""
        self._missed = 0
        for signal, done in (*earlier, (dq, finished)):
            ddq = self._accepted(signal)
            if ddq is None:
                return
            if done:
                break
        if done and (np.abs(signal) > REST_VELOCITY).any():
            self._abort("joint_motion_generator_velocity_discontinuity")
            return
        self.dq_d, self.ddq_d = signal, ddq
        self._generate()
        if done and self.moving:
            self.end("finished", mode=Mode.Idle)

    def command_lost(self) -> None:
        """One period of the running motion without a new command: the last torque again, or
        the last velocity command continued at its acceleration."""
        self._missed += 1
        if self._missed >= self.lost_commands_limit:
            self._abort("communication_constraints_violation")
            return
        if self.velocity:
            self.dq_d = self.dq_d + self.ddq_d * self.arm.period
            self._generate()
            return
        self._run(self.tau)

    def hold(self) -> None:
        """One period outside a motion: the joint servo holds the arm at ``hold_q``."""
        zeros = np.zeros_like(self.hold_q)
        reference = JointReference(self.hold_q, zeros, zeros)
        self._step(self.joint_servo.update(self.arm.state(), reference))

    def stop(self) -> None:
        """Stop the motion (FCI's stop-move): a running one ends, Move becomes Idle."""
        self.end("stopped", mode=Mode.Idle if self.mode is Mode.Move else None)

    def recover(self) -> bool:
        """Automatic error recovery: clear the errors, Idle; False under a user stop."""
        if self.mode is Mode.UserStopped:
            return False
        self.errors, self.mode = frozenset(), Mode.Idle
        return True

    def end(self, how: str, *, mode: Mode | None = None) -> None:
        """End the motion (if one runs, `on_end` hears ``how``); the arm is held where it is.
        ``mode``: the robot mode from now on (default: unchanged)."""
        if mode is not None:
            self.mode = mode
        self.hold_q = self.arm.state().q
        self.tau = np.zeros_like(self.tau)
        was_moving, self.moving, self.velocity = self.moving, False, False
        if was_moving:
            self.on_end(how)

    def _abort(self, error: str) -> None:
        """A reflex: the motion ends, ``error`` flagged."""
        self.errors = self.last_motion_errors = frozenset({error})
        self.end("reflex", mode=Mode.Reflex)

    def _accepted(self, dq: np.ndarray):
        """The acceleration (dof,) rad/s^2 of the command ``dq`` one period after the last
        command received (``dq_c``, ``ddq_c``, which it becomes), or None after the generator's
        reflex when it breaks a limit."""
        ddq = (dq - self.dq_c) / self.arm.period
        jerk = (ddq - self.ddq_c) / self.arm.period
        breaks = (
            ("joint_motion_generator_velocity_limits_violation", dq, self.limits.velocity),
            ("joint_motion_generator_velocity_discontinuity", ddq, self.limits.acceleration),
            ("joint_motion_generator_acceleration_discontinuity", jerk, self.limits.jerk),
        )
        for error, value, limit in breaks:
            if (np.abs(value) > limit * (1 + LIMIT_SLACK)).any():
                self._abort(error)
                return None
        self.dq_c, self.ddq_c = dq, ddq
        return ddq

    def _generate(self) -> None:
        """A period of the velocity motion generator: the desired position advances by the
        desired velocity, the joint impedance tracks them (module doc)."""
        self.q_d = self.q_d + self.dq_d * self.arm.period
        state, (kp, kd) = self.arm.state(), self._gains
        pull = self.ddq_d + kp * (self.q_d - state.q) + kd * (self.dq_d - state.dq)
        self.tau = self._inertia @ pull
        self._run(self.tau)

    def _run(self, tau: np.ndarray) -> None:
        """A period of ``tau``, then the reflexes on the state it leaves."""
        self._step(tau)
        state, limit = self.arm.state(), self.collision_torque
        if (np.abs(state.dq) > self.arm.spec.dq_max).any():
            self._abort("joint_velocity_violation")
        elif limit is not None and (np.abs(state.tau_ext) > limit).any():
            self._abort("joint_reflex")

    def _step(self, tau: np.ndarray) -> None:
        """One period of ``tau`` (dof,) Nm on top of gravity, the fingers driven to the Hand's
        target width."""
        self.arm.step(tau, self.gripper())
