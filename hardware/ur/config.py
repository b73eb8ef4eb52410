"""`URConfig`: how the UR backend commands the arm over RTDE.

Three command modes (ur_rtde): ``servoj`` streams joint positions to the controller's own
servo (``lookahead_s`` smooths, ``gain`` stiffens: UR's ranges [0.03, 0.2] s and [100, 2000]);
``speedj`` streams joint speeds (the loop adds a position feedback, `robostack.runtime.loop`);
``torque`` sends joint torques with ``directTorque`` on top of the controller's gravity
compensation (PolyScope 5.26 or later; refused before anything moves on older controllers).
"""

from __future__ import annotations

from dataclasses import dataclass

from robostack.core.types import CommandMode

COMMAND_MODES = {
    "servoj": CommandMode.POSITION,
    "speedj": CommandMode.VELOCITY,
    "torque": CommandMode.TORQUE,
}
DIRECT_TORQUE_SINCE = (5, 26)  # PolyScope version that added direct torque control


@dataclass(frozen=True, kw_only=True)
class URConfig:
    """Settings of a UR session (keyword-only).

    Attributes:
        command_mode: ``servoj`` (default), ``speedj`` or ``torque``.
        lookahead_s: servoJ lookahead time, s, in [0.03, 0.2].
        gain: servoJ proportional gain, in [100, 2000].
        speedj_acceleration: speedJ's acceleration towards each new speed, rad/s^2.
        watchdog_hz: minimum rate of the client's input updates; slower, and the controller
            stops the script and the arm (RTDE watchdog).
        stop_deceleration: joint deceleration of stopJ / speedStop on exit, rad/s^2.
        servo_stop_deceleration: tool deceleration of servoStop on exit, m/s^2.
    """

    command_mode: str = "servoj"
    lookahead_s: float = 0.1
    gain: float = 300.0
    speedj_acceleration: float = 4.0
    watchdog_hz: float = 50.0
    stop_deceleration: float = 2.0
    servo_stop_deceleration: float = 10.0

    def __post_init__(self) -> None:
        if self.command_mode not in COMMAND_MODES:
            raise ValueError(f"URConfig.command_mode must be one of {', '.join(COMMAND_MODES)}")
        if not 0.03 <= self.lookahead_s <= 0.2:
            raise ValueError(
                f"URConfig.lookahead_s must be in [0.03, 0.2] s, got {self.lookahead_s}"
            )
        if not 100 <= self.gain <= 2000:
            raise ValueError(f"URConfig.gain must be in [100, 2000], got {self.gain}")
        if min(self.speedj_acceleration, self.watchdog_hz, self.stop_deceleration) <= 0:
            raise ValueError("URConfig: accelerations and watchdog_hz must be > 0")

    @property
    def mode(self) -> CommandMode:
        return COMMAND_MODES[self.command_mode]
