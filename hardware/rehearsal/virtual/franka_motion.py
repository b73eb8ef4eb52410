"""`FrankaMotion`: how a Franka controller runs its arm: modes, torque motions, reflexes, the
idle hold and error recovery.

The one model of the controller's behaviour, driven by the pylibfranka stand-in
(`robostack.hardware.rehearsal.standins.pylibfranka`: a period per ``writeOnce``) and by the
protocol-level virtual controller (`robostack.hardware.rehearsal.virtual.franka_controller`: a
period per tick of its 1 kHz clock).

- Idle, or after a reflex or a user stop, the controller's joint servo holds the arm where the
  last motion ended (`hold`).
- `start` begins a torque motion, from Idle only. Each period (`command`) applies the commanded
  torque on top of gravity. The motion is aborted as a reflex, with the error flagged, by a
  torque rate above `MAX_TORQUE_RATE` between commands (``controller_torque_discontinuity``;
  that torque is not applied), `LOST_COMMANDS_LIMIT` periods in a row without a command
  (`command_lost`: ``communication_constraints_violation``), a joint faster than its limit
  (``joint_velocity_violation``) or an external torque above the upper collision threshold
  (``joint_reflex``, once `collision_torque` is set). A command marked finished ends the motion
  after its period (Idle); `stop` ends it at once.
- Injected faults (`faults`): ``reflex`` aborts as a joint reflex; ``emergency_stop`` (the user
  stop) ends any motion in UserStopped, which `recover` cannot clear.
- `recover` (automatic error recovery) clears the current errors and returns to Idle.

``errors`` are the current errors (until a recovery), ``last_motion_errors`` the ones that
aborted the last motion (until the next one starts).
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import numpy as np

from robostack.controllers import ComputedTorque
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.core.types import JointReference
from robostack.hardware.rehearsal.virtual import fci
from robostack.hardware.rehearsal.virtual.arm import VirtualArm

MAX_TORQUE_RATE = 1000.0  # Nm/s, FCI's limit on the commanded torque's rate
LOST_COMMANDS_LIMIT = 20  # periods in a row without a command abort the motion
HOLD_GAINS = {"kp": 400.0, "kd": 40.0}  # the idle hold's joint servo, 1/s^2 and 1/s


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
    """

    def __init__(
        self,
        arm: VirtualArm,
        *,
        gripper: Callable[[], float | None] = lambda: None,
        on_end: Callable[[str], None] = lambda how: None,
    ):
        self.arm, self.gripper, self.on_end = arm, gripper, on_end
        self.model = RigidBodyModel(get_robot(arm.spec.name))
        gains = {k: np.full(arm.spec.dof, v) for k, v in HOLD_GAINS.items()}
        self.joint_servo = ComputedTorque(model=self.model, **gains)
        self.mode = Mode.Idle
        self.moving = False  # a torque motion runs
        self.errors: frozenset[str] = frozenset()
        self.last_motion_errors: frozenset[str] = frozenset()
        self.collision_torque: np.ndarray | None = None  # (dof,) upper thresholds, Nm
        self.tau = np.zeros(arm.spec.dof)  # the torque in force, Nm
        self.hold_q = arm.state().q  # where the idle hold keeps the arm, rad
        self._missed = 0

    def faults(self) -> None:
        """Apply the injected faults that are due (module doc)."""
        if self.arm.fault_due("emergency_stop") and self.mode is not Mode.UserStopped:
            self.end("user_stop", mode=Mode.UserStopped)
        if self.arm.fault_due("reflex"):
            self.arm.clear("reflex")
            self._abort("joint_reflex")

    def start(self) -> bool:
        """Start a torque motion; False (nothing changes) unless Idle with no motion running."""
        if self.mode is not Mode.Idle or self.moving:
            return False
        self.mode, self.moving = Mode.Move, True
        self.last_motion_errors = frozenset()
        self.tau, self._missed = np.zeros_like(self.tau), 0
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

    def command_lost(self) -> None:
        """One period of the running motion without a new command: the last torque again."""
        self._missed += 1
        if self._missed >= LOST_COMMANDS_LIMIT:
            self._abort("communication_constraints_violation")
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
        was_moving, self.moving = self.moving, False
        if was_moving:
            self.on_end(how)

    def _abort(self, error: str) -> None:
        """A reflex: the motion ends, ``error`` flagged."""
        self.errors = self.last_motion_errors = frozenset({error})
        self.end("reflex", mode=Mode.Reflex)

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
