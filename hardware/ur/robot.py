"""`URRobot`: the `Robot` interface on a UR5 / UR5e over RTDE, through ur_rtde.

The loop runs at the controller's rate (500 Hz e-Series, 125 Hz CB3), paced by ur_rtde:
`read` waits out the period begun by the previous read (``waitPeriod``), starts the next
(``initPeriod``) and returns the newest state; `write` kicks the RTDE watchdog and sends the
command of the configured mode (`robostack.hardware.ur.config`).

A motion starts at the first `write` after connecting or after `end_motion`: the control script
runs (re-uploaded if it was stopped) and the RTDE watchdog is armed; `end_motion` stops the arm
and the script, so the watchdog never fires between loop runs (while an operator confirms).

The safety status is read every tick: a protective stop, an emergency stop, a safeguard stop,
a lost connection or, during a motion, a stopped control script (the watchdog expired) raise
`RobotFaultError`
with ``check`` ``protective_stop``, ``emergency_stop``, ``safeguard_stop``,
``communication_loss`` or ``watchdog``. `close` stops the arm with the mode's own stop
(servoStop / speedStop, then stopJ), ends the script and disconnects, on every exit path.

Every call into ur_rtde, and its disconnect, is made under one lock, so that no call from one
thread meets a disconnect from another. Once the connection is found lost (either interface
says so, or a call fails on it) the backend makes no further call on the control interface but
its disconnect: ur_rtde's own receive thread tears the RTDE socket down and tries to reconnect
when the controller closes it, and a command sent meanwhile writes to a socket being replaced
(a segmentation fault in ur_rtde's send). Each command is sent only after both interfaces say
they are connected, and one package goes out per period: the command itself, which also feeds
the armed RTDE watchdog (ur_rtde's control script watches ``input_int_register_0``, which every
command package writes), so no separate ``kickWatchdog`` is sent.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from types import SimpleNamespace

import numpy as np

from robostack.core.errors import RobostackError, RobotConnectionError, RobotFaultError
from robostack.core.robot import Robot
from robostack.core.robots import get_robot
from robostack.core.types import CommandMode, JointCommand, JointState
from robostack.hardware.ur.config import DIRECT_TORQUE_SINCE, URConfig
from robostack.hardware.vendor import import_vendor, lost_periods

# UR safety status bits (RTDE safety_status_bits)
PROTECTIVE_STOPPED = 1 << 2
SAFEGUARD_STOPPED = 1 << 4
EMERGENCY_STOPPED = (1 << 5) | (1 << 6) | (1 << 7)  # system, robot, any
SCRIPT_START_S = 2.0  # how long a re-uploaded control script may take to start
SAFETY_SETTLE_PERIODS = 5  # RTDE periods to wait for safety bits when the script stopped


def vendor_client() -> SimpleNamespace:
    """ur_rtde's three modules as one namespace of the classes the backend uses."""
    control = import_vendor("rtde_control", extra="ur")
    receive = import_vendor("rtde_receive", extra="ur")
    dashboard = import_vendor("dashboard_client", extra="ur")
    return SimpleNamespace(
        RTDEControlInterface=control.RTDEControlInterface,
        RTDEReceiveInterface=receive.RTDEReceiveInterface,
        DashboardClient=dashboard.DashboardClient,
    )


def polyscope_version(text: str) -> tuple[int, int, int]:
    """(major, minor, bugfix) from the dashboard's ``polyscopeVersion()`` reply."""
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    if match is None:
        raise RobotConnectionError(f"cannot read a PolyScope version from {text!r}")
    return tuple(int(p) for p in match.groups())


class URRobot(Robot):
    """A UR5 (``robot="ur5"``, CB3) or UR5e (``"ur5e"``) at ``address``.

    Args:
        robot: registry name, ``ur5e`` or ``ur5``.
        address: the controller's IP address or host name.
        config: command mode, servo and watchdog settings.
        client: namespace with ur_rtde's ``RTDEControlInterface``, ``RTDEReceiveInterface``
            and ``DashboardClient`` (default `vendor_client`; tests pass the stand-in).
    """

    paces_itself = True

    def __init__(
        self,
        *,
        robot: str = "ur5e",
        address: str,
        config: URConfig | None = None,
        client: SimpleNamespace | None = None,
    ):
        if robot not in ("ur5e", "ur5"):
            raise RobostackError(f"the UR backend drives ur5e or ur5, not {robot}")
        self.address, self.config = address, config or URConfig()
        self.spec = get_robot(robot).spec
        self.command_mode = self.config.mode
        self.lost_packets = 0
        self.firmware: tuple[int, int, int] | None = None
        self._client = client
        self._control = self._receive = self._dashboard = None
        self._period_start = None
        self._last_t: float | None = None
        self._moving = False
        self._client_lock = threading.RLock()  # every ur_rtde call and disconnect (module doc)
        self._lost: str | None = None  # why the connection is gone: no command after it

    # --- Robot -------------------------------------------------------------------------

    def connect(self) -> None:
        with self._client_lock:
            self._connect()

    def _connect(self) -> None:
        if self._control is not None:
            return
        ur = self._client or vendor_client()
        self._client = ur
        opened = []  # disconnected again when a later step fails
        try:
            dashboard = ur.DashboardClient(self.address)
            dashboard.connect()
            opened.append(dashboard)
            self.firmware = polyscope_version(dashboard.polyscopeVersion())
            self._check_firmware()
            receive = ur.RTDEReceiveInterface(self.address, self.spec.control_rate_hz)
            opened.append(receive)
            control = ur.RTDEControlInterface(self.address, self.spec.control_rate_hz)
        except (RuntimeError, RobostackError) as error:
            for interface in opened:
                with contextlib.suppress(Exception):
                    interface.disconnect()
            if isinstance(error, RobostackError):
                raise
            raise RobotConnectionError(f"UR at {self.address}: {error}") from None
        self._dashboard, self._receive, self._control = dashboard, receive, control
        self._moving, self._lost = False, None

    def read(self) -> JointState:
        with self._client_lock:
            return self._read()

    def _read(self) -> JointState:
        control, receive = self._require()
        if self._period_start is not None:
            control.waitPeriod(self._period_start)
        self._period_start = control.initPeriod()
        self._check_safety()
        t = float(receive.getTimestamp())
        if self._last_t is not None:
            self.lost_packets += lost_periods(t - self._last_t, self.spec.dt)
        self._last_t = t
        return JointState(
            t=t,
            q=np.array(receive.getActualQ(), dtype=float),
            dq=np.array(receive.getActualQd(), dtype=float),
        )

    def write(self, command: JointCommand) -> None:
        if command.mode is not self.command_mode:
            raise RobostackError(
                f"this UR session streams {self.command_mode.value} commands "
                f"({self.config.command_mode}), got {command.mode.value}"
            )
        with self._client_lock:
            self._write(command)

    def _write(self, command: JointCommand) -> None:
        control, _ = self._require()
        self._check_connected()
        values = [float(v) for v in command.values]
        try:
            if not self._moving:
                self._start_motion()
                self._check_connected()
            if self.command_mode is CommandMode.POSITION:
                c = self.config
                sent = control.servoJ(values, 0.0, 0.0, self.spec.dt, c.lookahead_s, c.gain)
            elif self.command_mode is CommandMode.VELOCITY:
                sent = control.speedJ(values, self.config.speedj_acceleration, self.spec.dt)
            else:
                sent = control.directTorque(values)
        except RuntimeError as error:  # ur_rtde: a write on a dropped connection, no reconnect
            if control.isConnected():
                raise
            self._lose(f"lost the RTDE connection to {self.address}: {error}")
        if not sent:
            self._check_safety()
            raise RobotFaultError("ur_command", "the controller did not accept the command")

    def end_motion(self) -> None:
        """Stop the arm with the mode's stop (servoStop / speedStop, then stopJ) and end the
        control script; each step is attempted even when an earlier one fails, but none once
        the RTDE connection is lost: ur_rtde would then wait on its last cached state for the
        command's completion, up to 300 s each (UR_EXECUTION_TIMEOUT), and the armed RTDE
        watchdog stops the program on the controller anyway."""
        with self._client_lock:
            self._end_motion()

    def _end_motion(self) -> None:
        control, c = self._control, self.config
        if control is None or self._lost:
            self._moving = False
            return
        mode_stop = None
        if self.command_mode is CommandMode.POSITION:
            mode_stop = lambda: control.servoStop(c.servo_stop_deceleration)  # noqa: E731
        elif self.command_mode is CommandMode.VELOCITY:
            mode_stop = lambda: control.speedStop(c.stop_deceleration)  # noqa: E731
        steps = [mode_stop, lambda: control.stopJ(c.stop_deceleration), control.stopScript]
        for step in filter(None, steps):
            with contextlib.suppress(Exception):
                if not control.isConnected():
                    break
                step()
        self._moving = False

    def close(self) -> None:
        """Stop the arm and the script (`end_motion`), disconnect (each step attempted)."""
        with self._client_lock:
            self._close()

    def _close(self) -> None:
        control = self._control
        if control is not None:
            self._end_motion()
            with contextlib.suppress(Exception):
                control.disconnect()
        for interface in (self._receive, self._dashboard):
            if interface is not None:
                with contextlib.suppress(Exception):
                    interface.disconnect()
        self._control = self._receive = self._dashboard = None
        self._period_start = self._last_t = None

    # --- UR ----------------------------------------------------------------------------

    def status(self) -> dict:
        """Robot and safety mode, payload and versions (preflight)."""
        with self._client_lock:
            return self._status()

    def _status(self) -> dict:
        _, receive = self._require()
        bits = int(receive.getSafetyStatusBits())
        stopped = bool(bits & (PROTECTIVE_STOPPED | SAFEGUARD_STOPPED | EMERGENCY_STOPPED))
        return {
            "robot_mode": self._dashboard.robotmode(),
            "safety_status": self._dashboard.safetystatus(),
            "safety_status_bits": bits,
            "errors_active": stopped,
            "payload_kg": float(receive.getPayload()),
            "q": [float(v) for v in receive.getActualQ()],
            "client": "ur_rtde",
            "firmware": "PolyScope " + ".".join(map(str, self.firmware)),
            "command_mode": self.config.command_mode,
            "ready": bool(receive.isConnected()) and not stopped,
        }

    # --- helpers -----------------------------------------------------------------------

    def _start_motion(self) -> None:
        """Run the control script (ur_rtde's ``reuploadScript`` returns once the program is
        sent, before the controller runs it: wait up to `SCRIPT_START_S`), arm the watchdog."""
        control = self._control
        if not control.isProgramRunning():
            control.reuploadScript()
            deadline = time.monotonic() + SCRIPT_START_S
            while not control.isProgramRunning():
                if time.monotonic() > deadline:
                    raise RobotFaultError(
                        "watchdog", f"the control script did not start in {SCRIPT_START_S} s"
                    )
                time.sleep(0.002)
        if not control.setWatchdog(self.config.watchdog_hz):
            raise RobotFaultError("watchdog", "the RTDE watchdog could not be armed")
        self._moving = True

    def _check_firmware(self) -> None:
        if self.command_mode is not CommandMode.TORQUE:
            return
        version = self.firmware
        if self.spec.name == "ur5" or version[:2] < DIRECT_TORQUE_SINCE:
            raise RobostackError(
                f"torque mode needs PolyScope {'.'.join(map(str, DIRECT_TORQUE_SINCE))} or later "
                f"(directTorque); the {self.spec.name} at {self.address} runs PolyScope "
                f"{'.'.join(map(str, version))}: use command_mode servoj or speedj"
            )

    def _check_connected(self) -> None:
        """Raise ``communication_loss`` unless both interfaces say they are connected; once
        lost, the connection stays lost for this backend (module doc)."""
        if self._lost is None and not (self._receive.isConnected() and self._control.isConnected()):
            self._lose(f"lost the RTDE connection to {self.address}")
        if self._lost is not None:
            raise RobotFaultError("communication_loss", self._lost)

    def _lose(self, why: str) -> None:
        self._lost = why
        raise RobotFaultError("communication_loss", why)

    def _check_safety(self) -> None:
        control = self._control
        self._check_connected()
        self._check_safety_bits()
        if self._moving and not control.isProgramRunning():
            # the receive interface's stream can be a packet behind the control interface's:
            # a safety stop may show there first as a stopped script
            time.sleep(SAFETY_SETTLE_PERIODS * self.spec.dt)
            self._check_safety_bits()
            raise RobotFaultError(
                "watchdog",
                f"the control script stopped: no input for {1 / self.config.watchdog_hz:.3f} s "
                f"(RTDE watchdog) or stopped on the pendant",
            )

    def _check_safety_bits(self) -> None:
        bits = int(self._receive.getSafetyStatusBits())
        if bits & EMERGENCY_STOPPED:
            raise RobotFaultError("emergency_stop", f"emergency stop (safety status {bits:#x})")
        if bits & PROTECTIVE_STOPPED:
            raise RobotFaultError("protective_stop", f"protective stop (safety status {bits:#x})")
        if bits & SAFEGUARD_STOPPED:
            raise RobotFaultError("safeguard_stop", f"safeguard stop (safety status {bits:#x})")

    def _require(self):
        if self._control is None:
            raise RobostackError("URRobot is not connected: call connect() or use `with`")
        return self._control, self._receive
