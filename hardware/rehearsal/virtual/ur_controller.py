"""`VirtualURController`: a MuJoCo UR5e / UR5 behind the network services ur_rtde talks to.

On ``address`` (any loopback address, e.g. 127.0.0.1 or 127.0.0.2, one controller each; the
clients' ports are fixed) it serves:

- RTDE on 30004 (`robostack.hardware.rehearsal.virtual.rtde`): version negotiation, the controller
  version, output and input recipes, start / pause, and data packages at the controller's rate (500
  Hz e-Series, 125 Hz CB3) or an integer fraction of it;
- the dashboard server on 29999: a welcome line, then one answer line per command line;
- the script port 30003 (and 30002): a program uploaded there runs when it is ur_rtde's
  control script (`robostack.hardware.rehearsal.virtual.ur_script`), which executes the commands the
  client writes into the RTDE input registers;
- the simulation port (`robostack.hardware.rehearsal.virtual.server.SIM_PORT`) for injecting faults.

A tick thread paces the controller in wall time: each period it runs the control script, moves
the arm one period (`URMotion`, which also plays the safety system) and streams the new state
to every started RTDE client.
Modelled outputs: time, joint targets and measurements, the torque applied (as
``target_moment``, ``joint_control_output`` and ``actual_current_as_torque``, Nm on top of
gravity), TCP pose and speed, robot, safety and runtime state. Not modelled, reported as
constants: currents (0 A), voltages (48 V), joint temperatures (30 C), forces and I/O (0).
"""

from __future__ import annotations

import socket
import struct
import threading

import numpy as np
from scipy.spatial.transform import Rotation

from robostack.hardware.rehearsal.virtual import rtde
from robostack.hardware.rehearsal.virtual.arm import CONTROLLERS, VirtualArm
from robostack.hardware.rehearsal.virtual.server import VirtualController, read_lines
from robostack.hardware.rehearsal.virtual.ur_motion import URMotion
from robostack.hardware.rehearsal.virtual.ur_script import ControlScript
from robostack.sim.mujoco import SceneConfig

DASHBOARD_PORT, PRIMARY_PORT, SCRIPT_PORT, RTDE_PORT = 29999, 30002, 30003, 30004
ROBOT_MODE_RUNNING, JOINT_MODE_RUNNING = 7, 253
RUNTIME_STOPPED, RUNTIME_PLAYING = 1, 2
SERIAL_NUMBER = "20265500001"


class VirtualURController(VirtualController):
    """A virtual UR controller (keyword-only; use as a context manager or `start` / `close`).

    Args:
        robot: ``ur5e`` (e-Series, 500 Hz) or ``ur5`` (CB3, 125 Hz).
        address: the loopback address to listen on.
        firmware: the software version it reports, e.g. ``"5.26.0"`` (default per robot:
            `robostack.hardware.rehearsal.virtual.arm.CONTROLLERS`).
        q0: (6,) start configuration, rad (default home).
        scene: the arm's MuJoCo scene (a task's objects, cameras served on
            `robostack.hardware.rehearsal.virtual.camera.CAMERA_PORT`); default an empty table.
    """

    def __init__(
        self,
        *,
        robot: str = "ur5e",
        address: str = "127.0.0.1",
        firmware: str | None = None,
        q0: np.ndarray | None = None,
        scene: SceneConfig | None = None,
    ):
        if robot not in ("ur5e", "ur5"):
            raise ValueError(f"a virtual UR controller plays ur5e or ur5, not {robot!r}")
        period, default_firmware = CONTROLLERS[robot]
        self.firmware = firmware or default_firmware
        self.version = tuple(int(p) for p in self.firmware.split("."))
        arm = VirtualArm(
            robot=robot, period=period, scene=scene, q0=q0, realtime=True, firmware=self.firmware
        )
        super().__init__(address=address, arm=arm)
        self.motion = URMotion(self.arm)
        self.script = ControlScript(self.motion, direct_torque=self.version[:2] >= (5, 26))
        self.registers: dict[str, object] = {}
        self.streams: set[_RTDEClient] = set()
        self._outputs_now: dict[str, object] = {}
        self._previous_dq = self.arm.state().dq

    # --- lifetime -----------------------------------------------------------------------

    def services(self) -> dict:
        return {
            RTDE_PORT: self._rtde,
            DASHBOARD_PORT: self._dashboard,
            SCRIPT_PORT: self._script_port,
            PRIMARY_PORT: self._script_port,
        }

    def tick(self) -> None:
        self.script.tick(self.registers)
        self.motion.advance()
        if self.arm.fault_due("communication_loss") and not self.network_cut:
            self.cut_network()
        self._outputs_now = self._outputs()

    def after_tick(self) -> None:
        """Stream this period's state to every started RTDE client."""
        for client in list(self.streams):
            if client.started:
                client.stream(self._outputs_now, self.ticks)

    def _outputs(self) -> dict[str, object]:
        arm, motion = self.arm, self.motion
        state = arm.state()
        position, rotation = motion.model.tool_pose(state.q)
        pose = [*position, *Rotation.from_matrix(rotation).as_rotvec()]
        twist = motion.model.tool_jacobian(state.q) @ state.dq
        qdd = (state.dq - self._previous_dq) / arm.period
        self._previous_dq = state.dq
        running = motion.running
        zeros6 = [0.0] * 6
        tau = list(arm.tau)
        return {
            "timestamp": arm.t,
            "target_q": list(motion.q_target),
            "target_qd": list(motion.dq_target),
            "target_qdd": zeros6,
            "actual_q": list(state.q),
            "actual_qd": list(state.dq),
            "actual_qdd": list(qdd),
            "target_moment": tau,
            "joint_control_output": tau,
            "actual_current_as_torque": tau,
            "actual_TCP_pose": pose,
            "target_TCP_pose": pose,
            "actual_TCP_speed": list(twist),
            "target_TCP_speed": list(twist),
            "robot_mode": ROBOT_MODE_RUNNING,
            "joint_mode": [JOINT_MODE_RUNNING] * 6,
            "safety_mode": motion.safety_mode(),
            "safety_status_bits": motion.safety_status_bits(),
            "runtime_state": RUNTIME_PLAYING if running else RUNTIME_STOPPED,
            "robot_status_bits": 1 | (2 if running else 0),
            "speed_scaling": 1.0,
            "target_speed_fraction": 1.0,
            "actual_execution_time": 0.0,
            "actual_main_voltage": 48.0,
            "actual_robot_voltage": 48.0,
            "actual_joint_voltage": [48.0] * 6,
            "joint_temperatures": [30.0] * 6,
            "actual_tool_accelerometer": [0.0, 0.0, -9.81],
            "payload_cog": [0.0] * 3,
            **self.script.outputs,
        }

    # --- RTDE ---------------------------------------------------------------------------

    def _rtde(self, sock: socket.socket) -> None:
        client = _RTDEClient(self, sock)
        try:
            client.serve()
        finally:
            with self.lock:
                self.streams.discard(client)

    def receive(self, values: dict) -> None:
        """Input registers from a client's data package (dropped under a ``stall``); a package
        writing the command register kicks the watchdog."""
        with self.lock:
            if self.arm.fault_due("stall"):
                return
            self.registers.update(values)
            if f"input_int_register_{self.script.offset}" in values:
                self.motion.kick()

    # --- script and dashboard ------------------------------------------------------------

    def _script_port(self, sock: socket.socket) -> None:
        """Programs arrive as URScript text, no framing: a program ends at a top-level ``end``."""
        program: list[bytes] = []
        buffer = b""
        while chunk := sock.recv(65536):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                program.append(line)
                if line.rstrip() == b"end":
                    self._run_program(b"\n".join(program))
                    program = []

    def _run_program(self, text: bytes) -> None:
        with self.lock:
            offset = 24 if "input_int_register_24" in self.registers else 0
            self.script.start(text, offset=offset)

    def _dashboard(self, sock: socket.socket) -> None:
        sock.sendall(b"Connected: Universal Robots Dashboard Server\n")
        for line in read_lines(sock):
            with self.lock:
                answer = self._dashboard_answer(line.strip())
            sock.sendall(answer.encode() + b"\n")
            if line.strip() == "quit":
                return

    def _dashboard_answer(self, command: str) -> str:
        safety, running = self.motion.safety_name(), self.motion.running
        answers = {
            "power on": "Powering on",
            "power off": "Powering off",
            "brake release": "Brake releasing",
            "robotmode": "Robotmode: RUNNING",
            "safetymode": f"Safetymode: {safety}",
            "safetystatus": f"Safetystatus: {safety}",
            "programState": "PLAYING rtde_control" if running else "STOPPED <unnamed>",
            "running": f"Program running: {str(running).lower()}",
            "PolyscopeVersion": f"URSoftware {self.firmware}.0 (Dec 05 2026)",
            "get serial number": SERIAL_NUMBER,
            "get robot model": "UR5",
            "is in remote control": "true",
            "close popup": "closing popup",
            "close safety popup": "closing safety popup",
            "play": "Failed to execute: play",
            "pause": "Failed to execute: pause",
            "quit": "Disconnected",
        }
        if command == "stop":
            self.script.stop()
            return "Stopped"
        if command == "unlock protective stop":
            return self.motion.unlock_protective_stop()
        return answers.get(command, f"could not understand: '{command}'")


class _RTDEClient:
    """One RTDE connection: its setup requests, its input packages and its output stream."""

    def __init__(self, controller: VirtualURController, sock: socket.socket):
        self.controller, self.sock = controller, sock
        self.output: rtde.Recipe | None = None
        self.decimation = 1
        self.started = False
        self.inputs: dict[int, rtde.Recipe] = {}
        self._send_lock = threading.Lock()

    def send(self, kind: int, payload: bytes = b"") -> None:
        self.send_raw(rtde.packet(kind, payload))

    def send_raw(self, packet: bytes) -> None:
        with self._send_lock:
            self.sock.sendall(packet)

    def serve(self) -> None:
        c = self.controller
        while True:
            kind, payload = rtde.read_packet(self.sock)
            if kind == rtde.DATA_PACKAGE:
                recipe = self.inputs.get(payload[0]) if payload else None
                if recipe is None:  # as a controller does: an error message, nothing applied
                    error = f"data package for unknown input recipe {payload[:1].hex()}"
                    self.send_raw(rtde.text_message(error, "RTDE", level=1))
                else:
                    c.receive(recipe.decode(payload[1:]))
            elif kind == rtde.REQUEST_PROTOCOL_VERSION:
                accepted = struct.unpack(">H", payload[:2])[0] == rtde.PROTOCOL_VERSION
                self.send(kind, bytes((accepted,)))
            elif kind == rtde.GET_URCONTROL_VERSION:
                major, minor, bugfix = (*c.version, 0, 0, 0)[:3]
                self.send(kind, struct.pack(">IIII", major, minor, bugfix, 0))
            elif kind == rtde.SETUP_OUTPUTS:
                self._setup_outputs(payload)
            elif kind == rtde.SETUP_INPUTS:
                names = rtde.parse_names(payload)
                reply, recipe = rtde.setup_reply(len(self.inputs) + 1, names)
                if recipe is not None:
                    self.inputs[recipe.id] = recipe
                self.send(kind, reply)
            elif kind == rtde.START:
                self.started = self.output is not None
                with c.lock:
                    (c.streams.add if self.started else c.streams.discard)(self)
                self.send(kind, bytes((self.started,)))
            elif kind == rtde.PAUSE:
                self.started = False
                with c.lock:
                    c.streams.discard(self)
                self.send(kind, b"\x01")
            else:
                raise rtde.ProtocolError(f"unknown RTDE package type {kind}")

    def _setup_outputs(self, payload: bytes) -> None:
        frequency = struct.unpack(">d", payload[:8])[0]
        rate = 1.0 / self.controller.arm.period
        names = rtde.parse_names(payload[8:])
        reply, recipe = rtde.setup_reply(1, names)
        if not 0 < frequency <= rate + 1e-9:
            reply, recipe = b"\x00" + b",".join(b"NOT_FOUND" for _ in names), None
        self.output, self.decimation = recipe, max(round(rate / frequency), 1) if recipe else 1
        self.send(rtde.SETUP_OUTPUTS, reply)

    def stream(self, outputs: dict, tick: int) -> None:
        """Send this tick's data package if the recipe's frequency is due. A client that
        cannot take it whole (its receive buffer full) is dropped rather than stall the clock."""
        if tick % self.decimation:
            return
        data = rtde.packet(rtde.DATA_PACKAGE, self.output.encode(outputs))
        with self._send_lock:
            try:
                if self.sock.send(data, socket.MSG_DONTWAIT) == len(data):
                    return
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # closed meanwhile, or its buffer is full
                pass
            self.started = False
