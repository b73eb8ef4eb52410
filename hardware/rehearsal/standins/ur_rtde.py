"""A stand-in for ur_rtde 1.6 (the calls `robostack.hardware.ur` makes), on a `VirtualArm`.

ur_rtde ships three modules, ``rtde_control``, ``rtde_receive`` and ``dashboard_client``; this
one module holds their three classes. Semantics followed (ur_rtde's API documentation):

- The constructors connect or raise ``RuntimeError``.
- ``initPeriod()`` returns a start time; ``waitPeriod(start)`` blocks until one control period
  (1 / frequency) has passed since it. Here the arm advances that period under the command
  in force, so the client's pacing and the robot's clock are the same thing.
- ``servoJ(q, speed, acceleration, time, lookahead_time, gain)`` streams joint targets
  (lookahead in [0.03, 0.2] s, gain in [100, 2000]); ``speedJ(qd, acceleration, time)``
  accelerates to a joint speed; ``directTorque(tau, viscous_scale, coulomb_scale)`` applies
  torque on top of the controller's gravity compensation and needs PolyScope 5.26 (ur_rtde's
  announcement); on an older controller it raises ``RuntimeError``.
- ``setWatchdog(min_frequency)`` arms a watchdog: if no command (``kickWatchdog`` or any
  other: each writes the register the script's watchdog watches) arrives at least that often,
  the control script stops, the arm decelerates, commands return False.
  ``stopScript`` ends the script (and its watchdog); ``reuploadScript`` starts it again.
- A protective or emergency stop stops the script and brakes the arm; the receive interface
  shows it in ``getSafetyStatusBits`` (bit 2 protective stop, bits 5-7 emergency stops),
  ``getSafetyMode`` and ``isProtectiveStopped`` / ``isEmergencyStopped``.
- A lost connection makes ``isConnected()`` False and the data stop updating.

What the controller does with the commands (its servo, braking, the watchdog, the safety
system) is the virtual controller's model, `URMotion`: one per arm, a period per
``waitPeriod``.

Faults (`VirtualArm.inject`): ``protective_stop``, ``emergency_stop``, ``communication_loss``,
and ``stall``: the controller stops receiving the client's inputs (a stalled client or a
one-way network fault), which only the watchdog notices.
"""

from __future__ import annotations

import datetime

import numpy as np

from robostack.core.errors import RobotConnectionError
from robostack.hardware.rehearsal.standins.registry import lookup
from robostack.hardware.rehearsal.virtual.arm import VirtualArm
from robostack.hardware.rehearsal.virtual.ur_motion import URMotion

__version__ = "1.6.5-standin"
DIRECT_TORQUE_SINCE = (5, 26)
ROBOT_MODE_RUNNING = 7


_CONTROLLERS: dict[int, URMotion] = {}


def _controller(hostname: str) -> URMotion:
    try:
        arm = lookup(hostname)
    except RobotConnectionError as error:
        raise RuntimeError(f"ur_rtde: Failed to connect to {hostname}: {error}") from None
    if id(arm) not in _CONTROLLERS or _CONTROLLERS[id(arm)].arm is not arm:
        _CONTROLLERS[id(arm)] = URMotion(arm)
    return _CONTROLLERS[id(arm)]


def _version(arm: VirtualArm) -> tuple[int, ...]:
    return tuple(int(p) for p in arm.firmware.split(".")[:2])


class RTDEReceiveInterface:
    def __init__(self, hostname: str, frequency: float = -1.0, variables=(), verbose=False):
        self._c = _controller(hostname)
        self._frozen: tuple | None = None

    def _data(self) -> tuple:
        if not self._c.connected:
            if self._frozen is None:
                self._frozen = self._snapshot()
            return self._frozen
        return self._snapshot()

    def _snapshot(self) -> tuple:
        s = self._c.arm.state()
        return list(s.q), list(s.dq), s.t

    def getActualQ(self) -> list[float]:
        return self._data()[0]

    def getActualQd(self) -> list[float]:
        return self._data()[1]

    def getTimestamp(self) -> float:
        return self._data()[2]

    def getRobotMode(self) -> int:
        return ROBOT_MODE_RUNNING

    def getSafetyMode(self) -> int:
        return self._c.safety_mode()

    def getSafetyStatusBits(self) -> int:
        return self._c.safety_status_bits()

    def isProtectiveStopped(self) -> bool:
        return self._c.stopped_by() == "protective_stop"

    def isEmergencyStopped(self) -> bool:
        return self._c.stopped_by() == "emergency_stop"

    def isConnected(self) -> bool:
        return self._c.connected

    def getPayload(self) -> float:
        return 0.0

    def disconnect(self) -> None:
        pass


class RTDEControlInterface:
    def __init__(self, hostname: str, frequency: float = -1.0, flags: int = 1):
        self._c = _controller(hostname)
        self._c.start_script()
        arm = self._c.arm
        default = 125.0 if _version(arm) < (5, 0) else 500.0
        self._period = 1.0 / (default if frequency <= 0 else frequency)
        if abs(self._period - arm.period) > 1e-9:
            raise RuntimeError(
                f"ur_rtde stand-in: the arm's controller runs at {1 / arm.period:.0f} Hz, "
                f"not {1 / self._period:.0f} Hz"
            )

    # pacing
    def initPeriod(self) -> datetime.timedelta:
        return datetime.timedelta(seconds=self._c.arm.t)

    def waitPeriod(self, t_start: datetime.timedelta) -> None:
        if self._c.arm.t < t_start.total_seconds() + self._period - 1e-12:
            self._c.advance()
        self._c.arm.wait()

    # commands
    def servoJ(self, q, speed, acceleration, time, lookahead_time, gain) -> bool:
        if not 0.03 <= lookahead_time <= 0.2 or not 100 <= gain <= 2000:
            raise RuntimeError("servoJ: lookahead_time must be in [0.03, 0.2], gain in [100, 2000]")
        if not self._c.accept():
            return False
        if not self._arrives():
            return True
        c = self._c
        q = np.asarray(q, dtype=float)
        c.servo(q, (q - c.q_target) / c.arm.period if c.mode == "servo" else 0 * q)
        return True

    def speedJ(self, qd, acceleration: float = 0.5, time: float = 0.0) -> bool:
        if not self._c.accept():
            return False
        if not self._arrives():
            return True
        self._c.speed(qd, acceleration)
        return True

    def directTorque(self, torque, viscous_scale=None, coulomb_scale=None) -> bool:
        if _version(self._c.arm) < DIRECT_TORQUE_SINCE:
            raise RuntimeError(
                f"directTorque requires PolyScope 5.26 or later; this robot runs "
                f"{self._c.arm.firmware}"
            )
        if not self._c.accept():
            return False
        if not self._arrives():
            return True
        self._c.torque(torque)
        return True

    def servoStop(self, a: float = 10.0) -> bool:
        return self._stop()

    def speedStop(self, a: float = 10.0) -> bool:
        return self._stop()

    def stopJ(self, a: float = 2.0, asynchronous: bool = False) -> None:
        self._stop()

    def _stop(self) -> bool:
        if self._arrives():
            self._c.stop()
        return self._c.running

    # watchdog, script, connection
    def setWatchdog(self, min_frequency: float = 10.0) -> bool:
        self._c.set_watchdog(min_frequency)
        return True

    def kickWatchdog(self) -> bool:
        self._arrives()
        return self._c.running

    def _arrives(self) -> bool:
        """Whether a command's package reaches the controller (not under a ``stall``); one
        that does writes ``input_int_register_0``, which feeds an armed watchdog."""
        if not self._c.inputs_arrive():
            return False
        self._c.kick()
        return True

    def isProgramRunning(self) -> bool:
        return self._c.running

    def isConnected(self) -> bool:
        return self._c.connected

    def triggerProtectiveStop(self) -> bool:
        self._c.protective_stop()
        return True

    def reuploadScript(self) -> bool:
        self._c.start_script()
        return True

    def stopScript(self) -> None:
        self._c.stop_script()

    def disconnect(self) -> None:
        self._c.mode = "idle"


class DashboardClient:
    def __init__(self, hostname: str, port: int = 29999, verbose: bool = False):
        self._hostname = hostname
        self._c: URMotion | None = None

    def connect(self, timeout_ms: int = 2000) -> None:
        self._c = _controller(self._hostname)

    def isConnected(self) -> bool:
        return self._c is not None and self._c.connected

    def polyscopeVersion(self) -> str:
        return f"URSoftware {self._c.arm.firmware}.0 (Dec 01 2026)"

    def robotmode(self) -> str:
        return "Robotmode: RUNNING"

    def safetystatus(self) -> str:
        return f"Safetystatus: {self._c.safety_name()}"

    def unlockProtectiveStop(self) -> str:
        return self._c.unlock_protective_stop()

    def closeSafetyPopup(self) -> str:
        return "closing safety popup"

    def disconnect(self) -> None:
        self._c = None
