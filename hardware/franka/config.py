"""`FrankaConfig`: what the Franka backend sets on the robot, explicitly, before it moves.

Collision thresholds and joint impedance are the values of libfranka's examples
(``setDefaultBehavior``); the robot stops with a reflex when an estimated external torque or
force exceeds the upper thresholds.

Rate limiting and low-pass filtering: libfranka applies them only in its callback API
(``Robot::control(..., limit_rate, cutoff_frequency)``); the ActiveControl torque path this
backend uses (``start_torque_control`` / ``writeOnce``) sends torques unfiltered. So the backend
does it itself, as the last step before the wire: a first-order low-pass at
``lowpass_cutoff_hz`` (libfranka's default 100 Hz; None turns it off), then a torque-rate clamp
at ``torque_rate_limit`` (just under FCI's 1000 Nm/s, as libfranka's limiter does). The safety
monitor already limits the rate to the robot spec's 1000 Nm/s; this clamp only catches the
filter's and rounding's last fractions.

Joint velocity mode (``command_mode = "velocity"``) streams joint velocities to the robot's
joint velocity motion generator, whose internal joint impedance controller (``joint_impedance``)
tracks them. The safety monitor keeps the stream within the interface's velocity, acceleration
and jerk (`robostack.controllers.rate_limit`), one period after the previous command; the
backend limits it once more as the last step before the wire, with no event, one period after
the last command it sent and that one's acceleration: the robot's motion generator checks each
command against the one it received before it (ActiveControl sends velocities unlimited). This
catches a command the monitor did not shape: one after a monitor's fresh start, the loop's
release, the braking of `FrankaRobot.end_motion`.
"""

from __future__ import annotations

from dataclasses import dataclass

from robostack.core.types import CommandMode

REALTIME = ("enforce", "ignore")
HAND_WIDTH_MAX, HAND_SPEED_MAX, HAND_FORCE_MAX = 0.08, 0.1, 70.0  # m, m/s, N (continuous)
COMMAND_MODES = {"torque": CommandMode.TORQUE, "velocity": CommandMode.VELOCITY}


@dataclass(frozen=True, kw_only=True)
class FrankaConfig:
    """Settings of a Franka session (keyword-only; every field has the default above).

    Attributes:
        command_mode: ``torque`` (torque control, the default) or ``velocity`` (the joint
            velocity motion generator).
        collision_torque_lower, collision_torque_upper: (7,) contact / reflex thresholds, Nm.
        collision_force_lower, collision_force_upper: (6,) Cartesian thresholds, N and Nm.
        joint_impedance: (7,) stiffness of the robot's internal joint controller, Nm/rad
            (used by its own motions, velocity mode and holding, not by torque control).
        load_mass: payload beyond the hand, kg.  load_com: (3,) its centre of mass in the
            flange frame, m.  load_inertia: (9,) its inertia, column-major, kg m^2.
        lowpass_cutoff_hz: torque low-pass cutoff, Hz, or None for none.
        torque_rate_limit: clamp on the commanded torque's rate, Nm/s.
        realtime: ``enforce`` (libfranka's default: refuse without real-time scheduling) or
            ``ignore`` (run on a non-real-time kernel; expect lost packets).
        gripper: drive the Franka Hand through pylibfranka's Gripper.
        gripper_speed: finger speed of gripper moves, m/s (of the width).
        gripper_deadband: gripper targets closer than this to the last one are not sent, m.
        grasp_below: a gripper target at or below this width is a close command, m: the Hand
            grasps (``Gripper.grasp``) instead of moving; wider targets are moves.
        grasp_width: the width a grasp expects the object to have, m.
        grasp_epsilon_inner, grasp_epsilon_outer: how much narrower / wider than
            ``grasp_width`` the fingers may stop for the grasp to hold the object, m. The
            defaults accept any object from 5 mm to the Hand's 80 mm: fingers closing to
            under 5 mm met nothing, a failed grasp.
        grasp_speed: closing speed of a grasp, m/s (of the width; the Hand's top is 0.1).
        grasp_force: the force the fingers hold a grasped object with, N (the Hand's
            continuous maximum is 70).
    """

    command_mode: str = "torque"
    collision_torque_lower: tuple[float, ...] = (20.0, 20.0, 18.0, 18.0, 16.0, 14.0, 12.0)
    collision_torque_upper: tuple[float, ...] = (20.0, 20.0, 18.0, 18.0, 16.0, 14.0, 12.0)
    collision_force_lower: tuple[float, ...] = (20.0, 20.0, 20.0, 25.0, 25.0, 25.0)
    collision_force_upper: tuple[float, ...] = (20.0, 20.0, 20.0, 25.0, 25.0, 25.0)
    joint_impedance: tuple[float, ...] = (3000.0, 3000.0, 3000.0, 2500.0, 2500.0, 2000.0, 2000.0)
    load_mass: float = 0.0
    load_com: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_inertia: tuple[float, ...] = (0.0,) * 9
    lowpass_cutoff_hz: float | None = 100.0
    torque_rate_limit: float = 999.0
    realtime: str = "enforce"
    gripper: bool = True
    gripper_speed: float = 0.05
    gripper_deadband: float = 0.002
    grasp_below: float = 0.01
    grasp_width: float = 0.04
    grasp_epsilon_inner: float = 0.035
    grasp_epsilon_outer: float = 0.04
    grasp_speed: float = 0.05
    grasp_force: float = 40.0

    def __post_init__(self) -> None:
        lengths = {
            "collision_torque_lower": 7,
            "collision_torque_upper": 7,
            "collision_force_lower": 6,
            "collision_force_upper": 6,
            "joint_impedance": 7,
            "load_com": 3,
            "load_inertia": 9,
        }
        for name, n in lengths.items():
            if len(getattr(self, name)) != n:
                raise ValueError(f"FrankaConfig.{name} needs {n} values")
        if self.command_mode not in COMMAND_MODES:
            raise ValueError(f"FrankaConfig.command_mode must be one of {', '.join(COMMAND_MODES)}")
        if self.realtime not in REALTIME:
            raise ValueError(f"FrankaConfig.realtime must be one of {REALTIME}")
        if self.lowpass_cutoff_hz is not None and not 0 < self.lowpass_cutoff_hz <= 1000:
            raise ValueError("FrankaConfig.lowpass_cutoff_hz must be in (0, 1000] Hz or None")
        if not 0 < self.torque_rate_limit <= 1000:
            raise ValueError("FrankaConfig.torque_rate_limit must be in (0, 1000] Nm/s (FCI)")
        if self.load_mass < 0 or self.gripper_speed <= 0 or self.gripper_deadband < 0:
            raise ValueError("FrankaConfig: load_mass, gripper_deadband >= 0, gripper_speed > 0")
        if not (
            0 <= self.grasp_below <= HAND_WIDTH_MAX
            and 0 <= self.grasp_width <= HAND_WIDTH_MAX
            and self.grasp_epsilon_inner >= 0
            and self.grasp_epsilon_outer >= 0
            and 0 < self.grasp_speed <= HAND_SPEED_MAX
            and 0 < self.grasp_force <= HAND_FORCE_MAX
        ):
            raise ValueError(
                f"FrankaConfig: grasp_below and grasp_width in [0, {HAND_WIDTH_MAX}] m, the "
                f"grasp epsilons >= 0 m, grasp_speed in (0, {HAND_SPEED_MAX}] m/s, grasp_force "
                f"in (0, {HAND_FORCE_MAX}] N"
            )

    @property
    def mode(self) -> CommandMode:
        return COMMAND_MODES[self.command_mode]
