"""`URMotion`: how a UR controller moves its arm under servoJ, speedJ and direct torque.

The controller's own joint servo (computed torque at `SERVO_GAINS`) tracks the streamed targets;
a stop, a stopped script or an expired watchdog decelerates every joint at
`BRAKE_DECELERATION` and holds where the arm comes to rest. Shared by the ur_rtde stand-in
(`robostack.hardware.rehearsal.standins.ur_rtde`) and the protocol-level virtual controller
(`robostack.hardware.rehearsal.virtual.ur_controller`).
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


class URMotion:
    """A UR controller's side of a session on ``arm``: the command in force, the control
    script's running state, the watchdog, stops and the link to the client."""

    def __init__(self, arm: VirtualArm):
        self.arm = arm
        self.model = model = RigidBodyModel(get_robot(arm.spec.name))
        gains = {k: np.full(arm.spec.dof, v) for k, v in SERVO_GAINS.items()}
        self.servo = ComputedTorque(model=model, **gains)
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
        for fault in ("emergency_stop", "protective_stop"):
            if self.arm.fault_due(fault):
                return fault
        return None

    def inputs_arrive(self) -> bool:
        return self.connected and not self.arm.fault_due("stall")

    def accept(self) -> bool:
        """Whether a command is accepted: the script runs and no stop is active. (Under a
        ``stall`` the client's send succeeds; the command just never arrives.)"""
        return self.running and self.connected and self.stopped_by() is None

    def advance(self) -> None:
        """One control period under the command in force."""
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
        elif self.mode == "torque":
            arm.step(self.tau)
            return
        elif self.mode == "speed":
            step = self.acceleration * arm.period
            dq = self.dq_target + np.clip(self.speed_target - self.dq_target, -step, step)
            self.q_target = self.q_target + dq * arm.period
            self.dq_target = dq
        reference = JointReference(self.q_target, self.dq_target, np.zeros_like(self.q_target))
        arm.step(self.servo.update(state, reference))

    def _brake(self, state, *, start: bool) -> None:
        """Decelerate to a standstill at `BRAKE_DECELERATION` and hold where the arm stops:
        the servo tracks a reference that starts at the measured state (``start``) and slows
        down from there, each period integrating its own velocity."""
        if start:
            self.q_target, self.dq_target = state.q.copy(), state.dq.copy()
        step = BRAKE_DECELERATION * self.arm.period
        self.dq_target = np.sign(self.dq_target) * np.maximum(np.abs(self.dq_target) - step, 0.0)
        self.q_target = self.q_target + self.dq_target * self.arm.period
