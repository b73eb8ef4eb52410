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
- A torque-control Move switches the state to Move / external controller, a joint velocity
  Move (joint impedance controller) to Move / joint velocity generator, and answers "motion
  started"; each period the newest command drives the arm (one answering a state from before
  the Move is stale). The controller's behaviour (the velocity motion generator, reflexes and
  their error flags, a period without a command, the idle hold, recovery, the user stop) is
  `FrankaMotion`'s (`robostack.hardware.rehearsal.virtual.franka_motion`); the Move's answer
  says how the motion ended. Other motion types are refused.
- ``automatic_error_recovery`` is answered once a state showing its result has been sent (a
  client reading the newest state after the answer never sees the error again).
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

from robostack.core.robots import get_robot
from robostack.hardware.rehearsal.virtual import fci
from robostack.hardware.rehearsal.virtual.arm import CONTROLLERS, VirtualArm
from robostack.hardware.rehearsal.virtual.franka_hand import PORT as HAND_PORT
from robostack.hardware.rehearsal.virtual.franka_hand import VirtualHand
from robostack.hardware.rehearsal.virtual.franka_motion import LOST_COMMANDS_LIMIT, FrankaMotion
from robostack.hardware.rehearsal.virtual.grasp_scene import GraspScene
from robostack.hardware.rehearsal.virtual.server import FramedClient, VirtualController
from robostack.sim.mujoco import SceneConfig

# how a Move ended (`FrankaMotion.on_end`) -> the Move command's final status
MOVE_ENDINGS = {
    "finished": fci.SUCCESS,
    "reflex": fci.MOVE_REFLEX_ABORTED,
    "user_stop": fci.MOVE_EMERGENCY_ABORTED,
    "stopped": fci.MOVE_ABORTED,
}


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
        scene: the arm's MuJoCo scene (a task's objects, cameras served on
            `robostack.hardware.rehearsal.virtual.camera.CAMERA_PORT`); default an empty table.
        cube: for a grasp rehearsal, the edge of a cube standing between the Hand's open
            fingers, m (`GraspScene`: it replaces ``scene``, and the arm starts posed over the
            cube instead of at ``q0``).
        lost_commands_limit: periods in a row without a command that abort a motion
            (``communication_constraints_violation``); default FCI's 20. More for a client
            on a machine without a real-time kernel, which now and then waits for a core.
    """

    def __init__(
        self,
        *,
        address: str = "127.0.0.1",
        q0: np.ndarray | None = None,
        scene: SceneConfig | None = None,
        cube: float | None = None,
        lost_commands_limit: int = LOST_COMMANDS_LIMIT,
    ):
        period, self.firmware = CONTROLLERS["panda"]
        grasp = None if cube is None else GraspScene.cube(cube)
        if grasp is not None:
            scene, q0 = grasp.scene, grasp.q0
        arm = VirtualArm(robot="panda", period=period, q0=q0, scene=scene, realtime=True)
        super().__init__(address=address, arm=arm)
        if grasp is not None:
            grasp.arrange(arm.sim)
        self.hand = VirtualHand(
            width_max=self.arm.spec.gripper_width_max, width=self._width(), period=period
        )
        self.motion = FrankaMotion(
            self.arm,
            gripper=lambda: self.hand.target,
            on_end=self._motion_ended,
            lost_commands_limit=lost_commands_limit,
        )
        self.urdf = served_urdf()
        self.message_id = 0
        self._client: FramedClient | None = None
        self._move_id: int | None = None  # the running Move's command_id
        self._tau_t = 0  # the message_id the last command answered (or the Move began at)
        self._after_state: list[tuple[FramedClient, int, int, bytes]] = []  # replies due

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
            self.motion.hold()
            return
        if self.arm.fault_due("communication_loss"):
            self.cut_network()
            return
        self.motion.faults()
        if self.motion.moving:
            self._control()
        else:
            self.motion.hold()
        self.message_id += 1
        self.hand.tick(self._width(), self.arm.t, self.message_id, self._udp)
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._udp.sendto(self._state().pack(), self._client.udp)
        for client, *reply in self._after_state:
            with contextlib.suppress(OSError):
                client.reply(*reply)
        self._after_state.clear()

    def _width(self) -> float:
        return float(self.arm.sim.read().gripper_width)

    def _control(self) -> None:
        """This period of the motion: the commands received since the last period (each with
        the periods since the one before), the newest driving it (module doc)."""
        received: list[tuple[fci.RobotCommand, int]] = []
        while True:
            try:
                data = self._udp.recv(1024)
            except BlockingIOError:
                break
            with contextlib.suppress(ValueError):
                command = fci.RobotCommand.unpack(data)
                if command.message_id > self._tau_t:  # else it answers an older state
                    received.append((command, command.message_id - self._tau_t))
                    self._tau_t = command.message_id
        if not received:
            self.motion.command_lost()
            return
        newest = received[-1][0]
        if self.motion.velocity:
            commands = [(c.dq, c.motion_finished) for c, _ in received]
            (dq, finished), earlier = commands[-1], commands[:-1]
            self.motion.command_velocity(dq, finished=finished, earlier=earlier)
        else:
            periods = sum(n for _, n in received)  # since the torque in force
            self.motion.command(newest.tau, periods=periods, finished=newest.finished)

    def _motion_ended(self, how: str) -> None:
        """Answer the running Move with how it ended."""
        if self._move_id is not None and self._client is not None:
            self._client.reply(fci.MOVE, self._move_id, bytes((MOVE_ENDINGS[how],)))
        self._move_id = None

    def _state(self) -> fci.RobotState:
        state = self.arm.state()
        motion = self.motion
        position, rotation = motion.model.tool_pose(state.q)
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = rotation, position
        moving, velocity = motion.moving, motion.velocity
        desired_q = motion.q_d if velocity else state.q if moving else motion.hold_q
        zeros = np.zeros_like(state.q)
        if moving and velocity:
            generator, controller = fci.GENERATOR_JOINT_VELOCITY, fci.CONTROLLER_JOINT_IMPEDANCE
        elif moving:
            generator, controller = fci.GENERATOR_NONE, fci.CONTROLLER_EXTERNAL
        else:
            generator, controller = fci.GENERATOR_IDLE, fci.CONTROLLER_OTHER
        return fci.RobotState(
            message_id=self.message_id,
            floats={
                "O_T_EE": pose.flatten(order="F"),
                "O_T_EE_d": pose.flatten(order="F"),
                "O_T_EE_c": pose.flatten(order="F"),
                "q": state.q,
                "q_d": desired_q,
                "dq": state.dq,
                "dq_d": motion.dq_d if velocity else zeros,
                "ddq_d": motion.ddq_d if velocity else zeros,
                "theta": state.q,
                "dtheta": state.dq,
                "tau_J": self.arm.tau,
                "tau_J_d": motion.tau,
                "O_ddP_O": np.array([0.0, 0.0, -9.81]),
            },
            robot_mode=motion.mode,
            motion_generator_mode=generator,
            controller_mode=controller,
            errors=motion.errors,
            reflex_reason=motion.last_motion_errors,
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
                    self.motion.end("stopped")
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
            self.motion.stop()
            client.reply(command, command_id, bytes((fci.SUCCESS,)))
        elif command == fci.AUTOMATIC_ERROR_RECOVERY:
            status = fci.SUCCESS if self.motion.recover() else fci.RECOVERY_EMERGENCY_ABORTED
            self._after_state.append((client, command, command_id, bytes((status,))))
        else:
            client.reply(command, command_id, bytes((1,)))  # command not possible

    def _move(self, client: FramedClient, command_id: int, payload: bytes) -> None:
        kind = struct.unpack("<II", payload[:8])
        known = kind in (fci.TORQUE_MOVE, fci.VELOCITY_MOVE)
        if not known or not self.motion.start(velocity=kind == fci.VELOCITY_MOVE):
            client.reply(fci.MOVE, command_id, bytes((fci.MOVE_NOT_POSSIBLE,)))
            return
        self._move_id, self._tau_t = command_id, self.message_id  # older commands are stale
        client.reply(fci.MOVE, command_id, bytes((fci.MOVE_MOTION_STARTED,)))
