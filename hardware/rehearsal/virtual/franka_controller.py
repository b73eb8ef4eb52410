"""`VirtualFrankaController`: a MuJoCo Panda behind the FCI protocol pylibfranka speaks.

On ``address`` it serves the command port 1337 (`robostack.hardware.rehearsal.virtual.fci`) and,
once a client has connected, streams a `fci.RobotState` every millisecond to the UDP port the client
announced; the client's `fci.RobotCommand` datagrams come back to the same socket. One client at a
time.

What the robot side does, as the real arm does it:

- ``Robot(...)`` connects (version 10) and fetches the robot model: the served URDF is the
  project's Panda description renamed as libfranka expects (``joint1``..``joint7``,
  ``link0``..``link8``, each joint with position-based velocity limits; the hand fixed).
- Setters (collision behaviour, impedances, load, frames) are accepted, not modelled.
- A torque-control Move switches the state to Move / external controller, answers "motion
  started", then applies each period the newest command's torque on top of gravity (a lost
  command: the last torque again). Aborted, as a reflex with the state's error flags:
  a torque rate above 1000 Nm/s between received commands (``controller_torque_discontinuity``)
  20 periods in a row without a command (``communication_constraints_violation``) and a joint
  faster than its limit (``joint_velocity_violation``). A
  command marked finished ends the motion (Move: success). Other motion types are refused.
- Idle or after a reflex the arm holds where it is (joint servo). ``automatic_error_recovery``
  clears a reflex; a user stop (the ``emergency_stop`` fault) cannot be cleared from software.
- The Franka Hand (pylibfranka's ``Gripper``, port 1338) drives the simulated fingers
  (`robostack.hardware.rehearsal.virtual.franka_hand`).
- Faults through the simulation port: ``reflex`` (a joint reflex), ``emergency_stop`` (the
  user stop), ``communication_loss`` (the network is gone: nothing more is sent or accepted).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import xml.etree.ElementTree as ET

import numpy as np

from robostack.controllers import ComputedTorque
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.core.types import JointReference
from robostack.hardware.rehearsal.virtual import fci
from robostack.hardware.rehearsal.virtual.arm import CONTROLLERS, VirtualArm
from robostack.hardware.rehearsal.virtual.franka_hand import PORT as HAND_PORT
from robostack.hardware.rehearsal.virtual.franka_hand import VirtualHand
from robostack.hardware.rehearsal.virtual.server import FramedClient, VirtualController

MAX_TORQUE_RATE = 1000.0  # Nm/s, FCI's limit on the desired torque's rate
LOST_COMMANDS_LIMIT = 20  # periods in a row without a command abort the motion
HOLD_GAINS = {"kp": 400.0, "kd": 40.0}  # the idle hold's joint servo, 1/s^2 and 1/s


def served_urdf() -> bytes:
    """The Panda URDF as FCI serves it (module doc)."""
    description = get_robot("panda")
    tree = ET.parse(description.urdf)
    root = tree.getroot()
    names = {f"panda_link{i}": f"link{i}" for i in range(9)}
    for link in root.iter("link"):
        link.set("name", names.get(link.get("name"), link.get("name")))
    for element in root.iter():
        if element.tag in ("parent", "child"):
            element.set("link", names.get(element.get("link"), element.get("link")))
    decelerations = description.spec.ddq_max
    for joint in root.iter("joint"):
        name = joint.get("name")
        if name.startswith("panda_joint"):
            i = int(name[-1])
            joint.set("name", f"joint{i}")
            ET.SubElement(
                joint,
                "position_based_velocity_limits",
                velocity_offset="0.0",
                deceleration_limit=f"{decelerations[i - 1]:g}",
            )
        else:  # no other joint may contain "joint1".."joint7"; the fingers are fixed
            joint.set("name", name.replace("panda_", "fixed_").replace("joint", "j"))
            joint.set("type", "fixed")
    return ET.tostring(root, encoding="utf-8")


class VirtualFrankaController(VirtualController):
    """A virtual Franka controller (keyword-only; a context manager, or `start` / `close`).

    Args:
        address: the loopback address to listen on.
        q0: (7,) start configuration, rad (default home).
    """

    def __init__(self, *, address: str = "127.0.0.1", q0: np.ndarray | None = None):
        period, self.firmware = CONTROLLERS["panda"]
        super().__init__(
            address=address, arm=VirtualArm(robot="panda", period=period, q0=q0, realtime=True)
        )
        self.model = RigidBodyModel(get_robot("panda"))
        gains = {k: np.full(7, v) for k, v in HOLD_GAINS.items()}
        self.hold = ComputedTorque(model=self.model, **gains)
        self.urdf = served_urdf()
        spec = self.arm.spec
        self.dq_max = spec.dq_max  # rad/s: beyond, a joint_velocity_violation reflex
        self.hand = VirtualHand(width_max=spec.gripper_width_max, width=self._width())
        self.message_id = 0
        self.lost_commands = 0
        self.robot_mode = fci.MODE_IDLE
        self.errors: frozenset[str] = frozenset()
        self.reflex_reason: frozenset[str] = frozenset()
        self._client: FramedClient | None = None
        self._move_id: int | None = None  # the running Move's command_id
        self._tau = np.zeros(7)  # the torque in force, Nm
        self._tau_t = 0  # the message_id the last received command answered
        self._missed = 0
        self._hold_q = self.arm.state().q

    # --- lifetime -----------------------------------------------------------------------

    def services(self) -> dict:
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind((self.address, 0))
        self._udp.setblocking(False)
        return {
            fci.COMMAND_PORT: self._serve,
            HAND_PORT: lambda sock: self.hand.serve(sock, self.lock),
        }

    def tick(self) -> None:
        if self.network_cut:
            self._step(self._hold_torque())
            return
        if self.arm.fault_due("communication_loss"):
            self.cut_network()
            return
        self._faults()
        if self._move_id is not None:
            self._control()
        else:
            self._step(self._hold_torque())
        self.message_id += 1
        self.hand.tick(self._width(), self.arm.t, self.message_id, self._udp)
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._udp.sendto(self._state().pack(), self._client.udp)

    def _step(self, tau: np.ndarray) -> None:
        """One period of ``tau`` (7,) Nm on top of gravity, the fingers driven to the Hand's
        target width."""
        self.arm.step(tau, self.hand.target)

    def _width(self) -> float:
        return float(self.arm.sim.read().gripper_width)

    def _faults(self) -> None:
        if self.arm.fault_due("emergency_stop") and self.robot_mode != fci.MODE_USER_STOPPED:
            self._end_motion(fci.MOVE_EMERGENCY_ABORTED, mode=fci.MODE_USER_STOPPED)
        if self.arm.fault_due("reflex"):
            self.arm.clear("reflex")
            self._abort("joint_reflex")
        elif self._move_id is not None and np.any(np.abs(self.arm.state().dq) > self.dq_max):
            self._abort("joint_velocity_violation")

    def _control(self) -> None:
        """Apply the newest command to this period (module doc)."""
        newest = None
        while True:
            try:
                data = self._udp.recv(1024)
            except BlockingIOError:
                break
            with contextlib.suppress(ValueError):
                newest = fci.RobotCommand.unpack(data)
        if newest is not None and newest.message_id > self._tau_t:
            elapsed = newest.message_id - self._tau_t if self._tau_t else 1
            rate = np.abs(newest.tau - self._tau) / (elapsed * self.arm.period)
            self._missed = 0
            self._tau_t = newest.message_id
            if np.any(rate > MAX_TORQUE_RATE + 1e-6):
                self._abort("controller_torque_discontinuity")
                return
            self._tau = newest.tau
            if newest.finished:
                self._step(self._tau)
                self._end_motion(fci.SUCCESS, mode=fci.MODE_IDLE)
                return
        else:
            self._missed += 1
            self.lost_commands += 1
            if self._missed >= LOST_COMMANDS_LIMIT:
                self._abort("communication_constraints_violation")
                return
        self._step(self._tau)

    def _abort(self, error: str) -> None:
        """A reflex: the motion ends with the error flagged in the state that shows it."""
        self.errors = self.reflex_reason = frozenset({error})
        self._end_motion(fci.MOVE_REFLEX_ABORTED, mode=fci.MODE_REFLEX)

    def _end_motion(self, status: int, *, mode: int) -> None:
        self.robot_mode = mode
        self._hold_q = self.arm.state().q
        if self._move_id is not None and self._client is not None:
            self._client.reply(fci.MOVE, self._move_id, bytes((status,)))
        self._move_id = None
        self._tau = np.zeros(7)

    def _hold_torque(self) -> np.ndarray:
        state = self.arm.state()
        reference = JointReference(self._hold_q, np.zeros(7), np.zeros(7))
        return self.hold.update(state, reference)

    def _state(self) -> fci.RobotState:
        state = self.arm.state()
        position, rotation = self.model.tool_pose(state.q)
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = rotation, position
        moving = self._move_id is not None
        desired_q = state.q if moving else self._hold_q
        return fci.RobotState(
            message_id=self.message_id,
            floats={
                "O_T_EE": pose.flatten(order="F"),
                "O_T_EE_d": pose.flatten(order="F"),
                "O_T_EE_c": pose.flatten(order="F"),
                "q": state.q,
                "q_d": desired_q,
                "dq": state.dq,
                "theta": state.q,
                "dtheta": state.dq,
                "tau_J": self.arm.tau,
                "tau_J_d": self._tau,
                "O_ddP_O": np.array([0.0, 0.0, -9.81]),
            },
            robot_mode=self.robot_mode,
            motion_generator_mode=fci.GENERATOR_NONE if moving else fci.GENERATOR_IDLE,
            controller_mode=fci.CONTROLLER_EXTERNAL if moving else fci.CONTROLLER_OTHER,
            errors=self.errors,
            reflex_reason=self.reflex_reason,
        )

    # --- the command port ---------------------------------------------------------------

    def _serve(self, sock: socket.socket) -> None:
        client = FramedClient(sock, fci.HEADER)
        try:
            while True:
                command, command_id, payload = client.receive()
                with self.lock:
                    self._command(client, command, command_id, payload)
        finally:
            with self.lock:
                if self._client is client:
                    self._end_motion(fci.MOVE_ABORTED, mode=self.robot_mode)
                    self._client = None

    def _command(self, client: FramedClient, command: int, command_id: int, payload: bytes) -> None:
        if command == fci.CONNECT:
            _version, udp_port = struct.unpack("<HH", payload[:4])
            client.udp = (client.sock.getpeername()[0], udp_port)
            self._client = client
            client.reply(command, command_id, struct.pack("<BH", fci.SUCCESS, fci.VERSION))
        elif command == fci.GET_ROBOT_MODEL:
            client.reply(command, command_id, bytes((fci.SUCCESS,)) + self.urdf)
        elif command in fci.SETTERS:
            client.reply(command, command_id, bytes((fci.SUCCESS,)))
        elif command == fci.MOVE:
            self._move(client, command_id, payload)
        elif command == fci.STOP_MOVE:
            moving = self.robot_mode == fci.MODE_MOVE
            self._end_motion(fci.MOVE_ABORTED, mode=fci.MODE_IDLE if moving else self.robot_mode)
            client.reply(command, command_id, bytes((fci.SUCCESS,)))
        elif command == fci.AUTOMATIC_ERROR_RECOVERY:
            if self.robot_mode == fci.MODE_USER_STOPPED:
                client.reply(command, command_id, bytes((fci.RECOVERY_EMERGENCY_ABORTED,)))
                return
            self.errors = frozenset()
            self.robot_mode = fci.MODE_IDLE
            client.reply(command, command_id, bytes((fci.SUCCESS,)))
        else:
            client.reply(command, command_id, bytes((1,)))  # command not possible

    def _move(self, client: FramedClient, command_id: int, payload: bytes) -> None:
        controller, generator = struct.unpack("<II", payload[:8])
        torque = (controller, generator) == (fci.EXTERNAL_CONTROLLER, fci.NO_GENERATOR)
        if not torque or self.robot_mode != fci.MODE_IDLE or self._move_id is not None:
            client.reply(fci.MOVE, command_id, bytes((fci.MOVE_NOT_POSSIBLE,)))
            return
        self.robot_mode, self._move_id = fci.MODE_MOVE, command_id
        self.reflex_reason = frozenset()
        self._tau, self._tau_t, self._missed = np.zeros(7), 0, 0
        client.reply(fci.MOVE, command_id, bytes((fci.MOVE_MOTION_STARTED,)))
