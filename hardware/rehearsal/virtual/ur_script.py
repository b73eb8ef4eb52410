"""`ControlScript`: what ur_rtde's uploaded control script does, run by the virtual controller.

ur_rtde uploads a URScript program (port 30003) that reads a command id from
``input_int_register_0`` and its arguments from ``input_double_register_*`` once per control
period, and reports in ``output_int_register_0`` (1 ready for a command, 2 done). The virtual
controller cannot run URScript, so this class plays that program's part, from our reading of
the script ur_rtde 1.6.5 uploads: real-time commands (servoJ, speedJ, directTorque, ...) are
applied every period while they stay in the register; any other command runs once, writes 2
and waits for the client to clear the register with 0; 255 ends the program.

Supported: servoJ, speedJ, directTorque (PolyScope >= 5.26, as the script's own guard),
servoStop, speedStop, stopJ, setWatchdog (the watchdog watches ``input_int_register_0``; every
package that writes it is a kick), triggerProtectiveStop, getJointTorques and stopScript. Any
other command ends the program with an error message, as a failing script would on a robot, so
the client sees "script not running" rather than a silent success.
"""

from __future__ import annotations

import numpy as np

from robostack.hardware.rehearsal.virtual.ur_motion import URMotion

READY, DONE = 1, 2
SERVOJ, SPEEDJ, DIRECT_TORQUE, GET_JOINT_TORQUES = 11, 9, 66, 38
SPEED_STOP, SERVO_STOP, STOPJ = 15, 16, 34
SET_WATCHDOG, PROTECTIVE_STOP, STOP_SCRIPT = 35, 31, 255
REALTIME = frozenset({6, 9, 10, 11, 24, 25, 26, 27, 38, 58, 66, 67, 68, 69, 70, 71})
STILL = 1e-3  # rad/s: a stop is done when every joint is slower than this
MARKER = b"def rtde_control():"


class ControlScript:
    """The control script's state on one controller.

    Args:
        motion: the controller's arm motion (`URMotion`); ``motion.running`` is the program's
            running state (RTDE ``runtime_state`` 2 PLAYING, else 1 STOPPED).
        direct_torque: whether the controller's software has ``direct_torque`` (>= 5.26).
    """

    def __init__(self, motion: URMotion, *, direct_torque: bool):
        self.motion, self.direct_torque = motion, direct_torque
        self.motion.running = False
        self.offset = 0  # register offset: 0, or 24 for the upper range
        self.outputs: dict[str, object] = {}
        self.message: str | None = None  # the last error, for the log
        self._latched = False
        self._until_still = False
        self._last_servo: np.ndarray | None = None
        self._servo_age = 1

    def start(self, text: bytes, *, offset: int = 0) -> bool:
        """Run an uploaded program whose registers start at ``offset`` (0, or 24 for the upper
        range); False (and nothing runs) when it is not ur_rtde's."""
        if MARKER not in text:
            self.message = "the uploaded program is not ur_rtde's control script"
            return False
        self.offset = offset
        self.motion.start_script()
        self._latched = self._until_still = False
        self._last_servo = None
        self.outputs = {self._int(0): READY, self._int(1): 0, self._int(2): 0}
        self.message = None
        return True

    def stop(self, why: str | None = None) -> None:
        """End the program (dashboard ``stop``, stopScript, an error)."""
        self.motion.stop_script()
        self.outputs[self._int(0)] = 0
        self.message = why

    def tick(self, registers: dict) -> None:
        """One control period of the program, reading the client's ``registers``."""
        m = self.motion
        if not m.running:
            return
        cmd = int(registers.get(f"input_int_register_{self.offset}", 0))
        if self._until_still:
            if np.all(np.abs(m.arm.state().dq) < STILL):
                self._until_still = False
                self.outputs[self._int(0)] = DONE
            return
        if cmd == 0:
            self._latched = False
            self.outputs[self._int(0)] = READY
        elif cmd == STOP_SCRIPT:
            self.stop()
        elif cmd in REALTIME:
            self._realtime(cmd, registers)
            self.outputs[self._int(0)] = READY
        elif not self._latched:
            self._latched = True
            self._once(cmd, registers)

    # --- commands -----------------------------------------------------------------------

    def _realtime(self, cmd: int, registers: dict) -> None:
        m, args = self.motion, self._doubles(registers, 18)
        if cmd == SERVOJ:
            q = args[:6]
            if self._last_servo is None or m.mode != "servo":
                dq = np.zeros_like(q)
            elif np.array_equal(q, self._last_servo):
                self._servo_age += 1  # the next target is late (hold its velocity one period)
                if self._servo_age > 2:  # or the client holds still
                    m.dq_target = np.zeros_like(q)
                return
            else:
                dq = (q - self._last_servo) / (self._servo_age * m.arm.period)
            self._servo_age, self._last_servo = 1, q
            m.servo(q, dq)
        elif cmd == SPEEDJ:
            m.speed(args[:6], args[6])
        elif cmd == DIRECT_TORQUE:
            if self.direct_torque:
                m.torque(args[:6])
        elif cmd == GET_JOINT_TORQUES:
            for i, value in enumerate(m.tau):
                self.outputs[self._double(i)] = float(value)
        else:
            self.stop(f"command {cmd} is not supported by the virtual controller")

    def _once(self, cmd: int, registers: dict) -> None:
        m, args = self.motion, self._doubles(registers, 2)
        if cmd in (SPEED_STOP, SERVO_STOP, STOPJ):
            m.stop()
            self._last_servo = None
            asynchronous = cmd == STOPJ and int(registers.get(self._int_in(1), 0)) == 1
            if not asynchronous:
                self._until_still = True
                self.outputs[self._int(0)] = 0
                return
        elif cmd == SET_WATCHDOG:
            m.set_watchdog(args[0])
        elif cmd == PROTECTIVE_STOP:
            m.protective_stop()
            return
        else:
            self.stop(f"command {cmd} is not supported by the virtual controller")
            return
        self.outputs[self._int(0)] = DONE

    # --- registers ----------------------------------------------------------------------

    def _doubles(self, registers: dict, n: int) -> np.ndarray:
        names = (f"input_double_register_{self.offset + i}" for i in range(n))
        return np.array([float(registers.get(name, 0.0)) for name in names])

    def _int(self, i: int) -> str:
        return f"output_int_register_{self.offset + i}"

    def _int_in(self, i: int) -> str:
        return f"input_int_register_{self.offset + i}"

    def _double(self, i: int) -> str:
        return f"output_double_register_{self.offset + i}"
