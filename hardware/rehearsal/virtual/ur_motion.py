"""`URMotion`: how a UR controller runs its arm: servoJ, speedJ and direct torque, the
control script's commands, the watchdog and the safety system.

The controller's own joint servo (computed torque at `SERVO_GAINS`) tracks the streamed targets;
a stop, a stopped script or an expired watchdog decelerates every joint at
`BRAKE_DECELERATION` and holds where the arm comes to rest. A joint faster than its limit is a
protective stop, as UR's safety system makes it; a protective or emergency stop ends the
control script. The one model of the controller's behaviour, driven by the ur_rtde stand-in
(`robostack.hardware.rehearsal.standins.ur_rtde`: a period per ``waitPeriod``) and by the
protocol-level virtual controller (`robostack.hardware.rehearsal.virtual.ur_controller`: a
period per tick of its clock, the commands through `ControlScript`).
"""

from __future__ import annotations

import numpy as np

from robostack.controllers import ComputedTorque
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.core.types import JointReference
from robostack.hardware.rehearsal.virtual.arm import VirtualArm

SERVO_GAINS = {"kp": 900.0, "kd": 60.0}  # the controller's own joint servo, 1/s^2 and 1/s
BRAKE_DECELERATION = 3.0  # rad/s^2, a stop's joint deceleration
# the safety system's state per active stop (None: normal): RTDE safety_mode, its status bits
# (bit 0 normal, bit 2 protective stop, bits 5-7 emergency stops) and the dashboard's name
SAFETY_MODES = {None: 1, "protective_stop": 3, "emergency_stop": 7}
SAFETY_STATUS_BITS = {None: 1, "protective_stop": 1 << 2, "emergency_stop": 0b111 << 5}
SAFETY_NAMES = {
    None: "NORMAL",
    "protective_stop": "PROTECTIVE_STOP",
    "emergency_stop": "ROBOT_EMERGENCY_STOP",
}


class URMotion:
    """A UR controller's side of a session on ``arm``: the command in force, the control
    script's running state, the watchdog, stops and the link to the client."""

    def __init__(self, arm: VirtualArm):
        self.arm = arm
        self.model = model = RigidBodyModel(get_robot(arm.spec.name))
        gains = {k: np.full(arm.spec.dof, v) for k, v in SERVO_GAINS.items()}
        self.joint_servo = ComputedTorque(model=model, **gains)
        self.mode = "idle"  # idle | servo | speed | torque | stopping
        self.q_target = arm.state().q
        self.dq_target = np.zeros(arm.spec.dof)
        self.speed_target = np.zeros(arm.spec.dof)
        self.acceleration = 1.0
        self.tau = np.zeros(arm.spec.dof)
        self.running = True  # the control script
        self.watchdog_period: float | None = None
        self.last_kick = arm.t
        self.connected = True
        self._braking = False

    def stopped_by(self) -> str | None:
        """The active stop (``emergency_stop`` or ``protective_stop``), or None."""
        for fault in ("emergency_stop", "protective_stop"):
            if self.arm.fault_due(fault):
                return fault
        return None

    def safety_mode(self) -> int:
        return SAFETY_MODES[self.stopped_by()]

    def safety_status_bits(self) -> int:
        return SAFETY_STATUS_BITS[self.stopped_by()]

    def safety_name(self) -> str:
        return SAFETY_NAMES[self.stopped_by()]

    def inputs_arrive(self) -> bool:
        return self.connected and not self.arm.fault_due("stall")

    def accept(self) -> bool:
        """Whether a command is accepted: the script runs and no stop is active. (Under a
        ``stall`` the client's send succeeds; the command just never arrives.)"""
        return self.running and self.connected and self.stopped_by() is None

    # --- the control script's commands ---------------------------------------------------

    def start_script(self) -> None:
        """The control script starts: no command in force, no watchdog."""
        self.running, self.mode, self.watchdog_period = True, "idle", None
        self.q_target, self.dq_target = self.arm.state().q, np.zeros(self.arm.spec.dof)

    def stop_script(self) -> None:
        """The control script ends (stopScript, the dashboard's stop): the arm brakes."""
        self.running, self.watchdog_period = False, None

    def servo(self, q: np.ndarray, dq: np.ndarray) -> None:
        """servoJ: track the target ``q`` (dof,) rad, moving at ``dq`` (dof,) rad/s."""
        self.q_target, self.dq_target, self.mode = q, dq, "servo"

    def speed(self, qd: np.ndarray, acceleration: float) -> None:
        """speedJ: accelerate to the joint speeds ``qd`` (dof,) rad/s at ``acceleration``
        rad/s^2, from the measured state when another command was in force."""
        if self.mode != "speed":
            state = self.arm.state()
            self.q_target, self.dq_target = state.q, state.dq
        self.speed_target = np.asarray(qd, dtype=float)
        self.acceleration, self.mode = acceleration, "speed"

    def torque(self, tau: np.ndarray) -> None:
        """directTorque: ``tau`` (dof,) Nm on top of gravity compensation."""
        self.tau, self.mode = np.asarray(tau, dtype=float), "torque"

    def stop(self) -> None:
        """servoStop, speedStop, stopJ: brake to a standstill."""
        self.mode = "stopping"

    def set_watchdog(self, min_frequency: float) -> None:
        """Stop the script unless kicked at least ``min_frequency`` Hz."""
        self.watchdog_period, self.last_kick = 1.0 / min_frequency, self.arm.t

    def kick(self) -> None:
        self.last_kick = self.arm.t

    def protective_stop(self) -> None:
        self.arm.inject("protective_stop", at=self.arm.t)

    def unlock_protective_stop(self) -> str:
        """Release a protective stop; the dashboard's answer."""
        if self.stopped_by() != "protective_stop":
            return "Cannot unlock protective stop: the robot is not protective stopped"
        self.arm.clear("protective_stop")
        return "Protective stop releasing"

    # --- the controller's period ----------------------------------------------------------

    def advance(self) -> None:
        """One control period under the command in force, then the safety system's speed
        check."""
        arm = self.arm
        if self.arm.fault_due("communication_loss"):
            self.connected = False
        expired = self.watchdog_period is not None and arm.t - self.last_kick > self.watchdog_period
        if self.stopped_by() is not None or expired:
            self.running = False
        state = arm.state()
        braking = not self.running or self.mode in ("idle", "stopping")
        started_braking, self._braking = braking and not self._braking, braking
        if braking:
            self._brake(state, start=started_braking)
        elif self.mode == "speed":
            step = self.acceleration * arm.period
            dq = self.dq_target + np.clip(self.speed_target - self.dq_target, -step, step)
            self.q_target = self.q_target + dq * arm.period
            self.dq_target = dq
        if self.mode == "torque" and not braking:
            arm.step(self.tau)
        else:
            reference = JointReference(self.q_target, self.dq_target, np.zeros_like(self.q_target))
            arm.step(self.joint_servo.update(state, reference))
        if self.stopped_by() is None and (np.abs(arm.state().dq) > arm.spec.dq_max).any():
            self.protective_stop()

    def _brake(self, state, *, start: bool) -> None:
        """Decelerate to a standstill at `BRAKE_DECELERATION` and hold where the arm stops:
        the servo tracks a reference that starts at the measured state (``start``) and slows
        down from there, each period integrating its own velocity."""
        if start:
            self.q_target, self.dq_target = state.q.copy(), state.dq.copy()
        step = BRAKE_DECELERATION * self.arm.period
        self.dq_target = np.sign(self.dq_target) * np.maximum(np.abs(self.dq_target) - step, 0.0)
        self.q_target = self.q_target + self.dq_target * self.arm.period
