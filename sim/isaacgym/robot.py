"""`IsaacGymRobot`: the `Robot` interface on an environment of the Isaac Gym bridge.

The bridge (`sim/isaacgym/bridge.py`) runs in Isaac Gym's own Python, which the stack's cannot
import; this class starts it (``python``: that interpreter, default the
``ROBOSTACK_ISAACGYM_PYTHON`` environment variable) with the robot's URDF, joints, armature,
torque limits and home, and talks to it over LCM: each `write` sends a ``joint_command_t``, and
the next `read` waits for the ``robot_status_t`` that answers it, one simulation step later
(lockstep, like every simulator backend: a `write` first waits for the step of the one
before, and a command not answered within `RESEND_S` is sent again: UDP may lose one).
`reset` puts the arm at rest at ``q0``. The arm's
gravity is disabled in Isaac Gym (it has no inverse dynamics to compensate it with), so a zero
torque holds a still arm, as the stack's convention asks. Several robots can share one bridge
of ``num_envs`` environments (``env``), the bridge stepping them together.

Not yet run against real Isaac Gym: only against a stand-in of its API (tests/sim/isaacgym).
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from robostack.core.errors import RobostackError, RobotFaultError
from robostack.core.robot import SimRobot
from robostack.core.robots import RobotDescription, get_robot
from robostack.core.types import CommandMode, JointCommand, JointState
from robostack.sim.scene import TIMESTEP_S, GripperTarget
from robostack.transport import lcmtypes
from robostack.transport.bus import connect, handle
from robostack.transport.codec import MessageError, decode
from robostack.transport.config import IpcConfig, max_bytes

BRIDGE = Path(__file__).resolve().parent / "bridge.py"
PYTHON_ENV = "ROBOSTACK_ISAACGYM_PYTHON"
TORQUE, RESET = 0, 1
STARTUP_S = 120.0  # Isaac Gym compiles gymtorch and builds PhysX scenes on its first start
ANSWER_S = 10.0  # a step that does not come back in this long: the bridge is gone
RESEND_S = 0.5  # a command not answered in this long is sent again (the bridge drops repeats)


class IsaacGymRobot(SimRobot):
    """A robot in an Isaac Gym environment behind the bridge (module doc); `connect` leaves it
    at rest at home.

    Args:
        robot: registry name or description.
        config: where the bridge talks (URL, channel prefix).
        python: the interpreter with isaacgym (default: $ROBOSTACK_ISAACGYM_PYTHON).
        num_envs: environments the bridge makes.  env: this robot's one.
        start: start the bridge (False: one is already running for these channels).
    """

    def __init__(
        self,
        *,
        robot: str | RobotDescription,
        config: IpcConfig | None = None,
        python: str | None = None,
        num_envs: int = 1,
        env: int = 0,
        start: bool = True,
    ):
        self.description = get_robot(robot) if isinstance(robot, str) else robot
        # 1 kHz, as in every simulator (`robostack.sim.scene.TIMESTEP_S`): the gains are set for it
        self.spec = dataclasses.replace(self.description.spec, control_rate_hz=1.0 / TIMESTEP_S)
        self.config = config or IpcConfig()
        self.python = python or os.environ.get(PYTHON_ENV, "")
        if start and not self.python:
            raise RobostackError(
                f"the isaacgym backend needs Isaac Gym's Python: set {PYTHON_ENV} to it (Isaac "
                "Gym Preview runs on Python 3.6-3.8)"
            )
        if not 0 <= env < num_envs:
            raise RobostackError(f"env must be in [0, {num_envs}), got {env}")
        self.num_envs, self.env, self.start = num_envs, env, start
        self.process: subprocess.Popen | None = None
        self.bus = None
        self._log = None  # the bridge's stderr, a file (a pipe nobody reads could fill)
        # commands are numbered from the clock: a client's never repeat an earlier client's
        self._seq, self._answered, self._state = time.time_ns() // 1000, -1, None

    # --- Robot -------------------------------------------------------------------------

    def connect(self) -> None:
        if self.bus is not None:
            return
        self.bus = connect(self.config.url)
        self._subscription = self.bus.subscribe(self.config.channel("SIM_STATUS"), self._on_status)
        if self.start:
            self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in close)
            messages = str(Path(lcmtypes.__file__).resolve().parents[1])  # lcmtypes' parent
            path = os.pathsep.join(filter(None, [messages, os.environ.get("PYTHONPATH")]))
            self.process = subprocess.Popen(
                [self.python, str(BRIDGE), *self._bridge_args()],
                env={**os.environ, "PYTHONPATH": path},
                stdout=subprocess.DEVNULL,
                stderr=self._log,
                text=True,
            )
        try:
            self.reset(timeout_s=STARTUP_S)  # sent again until the bridge listens and answers
        except BaseException:  # no __exit__ follows a failed __enter__: end the bridge here
            self.close()
            raise

    def read(self) -> JointState:
        self._require()
        self._await(self._seq, ANSWER_S, "answer")
        return self._state

    def write(self, command: JointCommand) -> None:
        self._require()
        if command.mode is not CommandMode.TORQUE:
            raise RobostackError(
                f"the Isaac Gym backend takes torque commands only, got {command.mode.value}"
            )
        self._await(self._seq, ANSWER_S, "answer")  # one step per write
        width = None
        if self.spec.has_gripper:  # the bridge's finger servos get the Hand-speed target
            self._gripper.step(command.gripper, self.spec.dt)
            width = self._gripper.width
        self._send(TORQUE, command.values, width)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.bus is not None and self._subscription is not None:
            self.bus.unsubscribe(self._subscription)
        if self._log is not None:
            self._log.close()
        self.process, self.bus, self._log = None, None, None

    def reset(
        self,
        *,
        seed: int | None = None,
        q0: np.ndarray | None = None,
        timeout_s: float = ANSWER_S,
    ) -> JointState:
        self._require()
        q0 = self.description.q_home if q0 is None else np.asarray(q0, dtype=float)
        self.spec.check_positions(q0, what="initial configuration q0")
        self.rng = np.random.default_rng(seed)
        self._gripper = GripperTarget(self.spec.gripper_width_max)  # the bridge opens them
        self._send(RESET, q0, None)
        self._await(self._seq, timeout_s, "answer")
        return self._state

    @property
    def physics_ns(self) -> int:
        return 0  # spent in another process

    # --- helpers -----------------------------------------------------------------------

    def _bridge_args(self) -> list[str]:
        d, spec = self.description, self.spec

        def joined(values) -> str:
            return ",".join(str(v) for v in values)

        return [
            "--urdf", str(d.urdf),
            "--arm-joints", joined(d.arm_joints),
            "--gripper-joints", joined(d.gripper_joints),
            "--armature", joined(d.armature),
            "--tau-max", joined(spec.tau_max),
            "--home", joined(d.q_home),
            "--num-envs", str(self.num_envs),
            "--dt", str(spec.dt),
            "--url", self.config.url,
            "--prefix", self.config.prefix,
        ]  # fmt: skip

    def _send(self, kind: int, values, gripper: float | None) -> None:
        self._seq += 1
        msg = lcmtypes.joint_command_t()
        msg.utime, msg.env, msg.seq, msg.kind = round(time.time() * 1e6), self.env, self._seq, kind
        msg.num_joints, msg.values = len(values), [float(v) for v in values]
        msg.gripper_width = math.nan if gripper is None else float(gripper)
        self._last = msg.encode()
        self.bus.publish(self.config.channel("SIM_COMMAND"), self._last)

    def _await(self, seq: int, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        resend = time.monotonic() + RESEND_S
        while self._state is None or self._answered < seq:
            if time.monotonic() > resend:
                self.bus.publish(self.config.channel("SIM_COMMAND"), self._last)
                resend = time.monotonic() + RESEND_S
            if self.process is not None and self.process.poll() is not None:
                self._log.seek(0)
                raise RobotFaultError(
                    "backend_read",
                    f"the Isaac Gym bridge exited ({self.process.returncode}): "
                    f"{self._log.read()[-2000:]}",
                )
            if time.monotonic() > deadline:
                raise RobotFaultError(
                    "backend_read", f"the Isaac Gym bridge did not {what} within {timeout_s:g} s"
                )
            handle(self.bus, 0.05)

    def _on_status(self, channel: str, data: bytes) -> None:
        try:
            msg = decode(lcmtypes.robot_status_t, data, max_bytes=max_bytes("SIM_STATUS"))
        except MessageError:
            return
        if msg.env != self.env or msg.num_joints != self.spec.dof:
            return  # another environment's
        if not self._answered <= msg.tick <= self._seq:
            return  # older than the last answer, or an answer to another (later) client
        self._answered = msg.tick
        width = None if not self.spec.has_gripper else msg.gripper_width
        self._state = JointState(
            t=msg.utime / 1e6,
            q=np.array(msg.joint_position),
            dq=np.array(msg.joint_velocity),
            tau=np.array(msg.joint_torque_measured),
            gripper_width=width,
        )

    def _require(self) -> None:
        if self.bus is None:
            raise RobostackError("IsaacGymRobot is not connected: call connect() or use `with`")
