"""The FCI wire format (Franka Control Interface, research interface version 10), server side.

TCP (port 1337) carries commands: a 12-byte header (``u32 command, u32 command_id, u32 size``,
size counting the header) and a payload, little-endian and packed; every reply echoes the
request's command and id. UDP carries the 1 kHz exchange: the robot sends a `RobotState`
(1377 bytes, float32 but the u64 ``message_id``) to the client's announced port; the client
answers each with a `RobotCommand` (371 bytes, float64) carrying the ``message_id`` of the state
it answers. Facts from reading libfranka 0.21's source and watching pylibfranka 0.21.3.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

VERSION = 10
COMMAND_PORT = 1337
HEADER = struct.Struct("<III")

CONNECT, MOVE, STOP_MOVE = 0, 1, 2
AUTOMATIC_ERROR_RECOVERY, GET_ROBOT_MODEL = 10, 11
SETTERS = frozenset(range(3, 10))

SUCCESS = 0
MOVE_MOTION_STARTED, MOVE_NOT_POSSIBLE = 1, 5
MOVE_REFLEX_ABORTED, MOVE_EMERGENCY_ABORTED, MOVE_ABORTED = 8, 9, 11
RECOVERY_EMERGENCY_ABORTED = 5

# robot_mode, motion_generator_mode and controller_mode values in the state
MODE_IDLE, MODE_MOVE, MODE_REFLEX, MODE_USER_STOPPED = 1, 2, 4, 5
GENERATOR_IDLE, GENERATOR_JOINT_VELOCITY, GENERATOR_NONE = 0, 2, 5
CONTROLLER_JOINT_IMPEDANCE, CONTROLLER_EXTERNAL, CONTROLLER_OTHER = 0, 2, 3
# (controller, motion generator) of a Move request: torque control, joint velocity control
TORQUE_MOVE = (2, 4)  # external controller, no motion generator
VELOCITY_MOVE = (0, 1)  # joint impedance, joint velocity generator


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# the 41 error flags of a state, in wire order
ERRORS = _words(
    "joint_position_limits_violation cartesian_position_limits_violation "
    "self_collision_avoidance_violation joint_velocity_violation "
    "cartesian_velocity_violation force_control_safety_violation joint_reflex "
    "cartesian_reflex max_goal_pose_deviation_violation max_path_pose_deviation_violation "
    "cartesian_velocity_profile_safety_violation "
    "joint_position_motion_generator_start_pose_invalid "
    "joint_motion_generator_position_limits_violation "
    "joint_motion_generator_velocity_limits_violation "
    "joint_motion_generator_velocity_discontinuity "
    "joint_motion_generator_acceleration_discontinuity "
    "cartesian_position_motion_generator_start_pose_invalid "
    "cartesian_motion_generator_elbow_limit_violation "
    "cartesian_motion_generator_velocity_limits_violation "
    "cartesian_motion_generator_velocity_discontinuity "
    "cartesian_motion_generator_acceleration_discontinuity "
    "cartesian_motion_generator_elbow_sign_inconsistent "
    "cartesian_motion_generator_start_elbow_invalid "
    "force_controller_desired_force_tolerance_violation start_elbow_sign_inconsistent "
    "communication_constraints_violation power_limit_violation "
    "cartesian_motion_generator_joint_position_limits_violation "
    "cartesian_motion_generator_joint_velocity_limits_violation "
    "cartesian_motion_generator_joint_velocity_discontinuity "
    "cartesian_motion_generator_joint_acceleration_discontinuity "
    "cartesian_position_motion_generator_invalid_frame controller_torque_discontinuity "
    "joint_p2p_insufficient_torque_for_planning tau_J_range_violation instability_detected "
    "joint_move_in_wrong_direction cartesian_spline_motion_generator_violation "
    "joint_via_motion_generator_planning_joint_limit_violation "
    "base_acceleration_initialization_timeout base_acceleration_invalid_reading"
)

# RobotState float fields in wire order, with their sizes (320 floats in all)
STATE_FLOATS = (
    ("O_T_EE", 16), ("O_T_EE_d", 16), ("F_T_EE", 16), ("EE_T_K", 16), ("F_T_NE", 16),
    ("NE_T_EE", 16), ("m_ee", 1), ("I_ee", 9), ("F_x_Cee", 3), ("m_load", 1), ("I_load", 9),
    ("F_x_Cload", 3), ("elbow", 2), ("elbow_d", 2), ("tau_J", 7), ("tau_J_d", 7), ("dtau_J", 7),
    ("q", 7), ("q_d", 7), ("dq", 7), ("dq_d", 7), ("ddq_d", 7), ("joint_contact", 7),
    ("cartesian_contact", 6), ("joint_collision", 7), ("cartesian_collision", 6),
    ("tau_ext_hat_filtered", 7), ("O_F_ext_hat_K", 6), ("K_F_ext_hat_K", 6),
    ("O_dP_EE_d", 6), ("O_ddP_O", 3), ("elbow_c", 2), ("delbow_c", 2), ("ddelbow_c", 2),
    ("O_T_EE_c", 16), ("O_dP_EE_c", 6), ("O_ddP_EE_c", 6), ("theta", 7), ("dtheta", 7),
    ("accelerometer_top", 18), ("accelerometer_bottom", 18),
)  # fmt: skip
STATE = struct.Struct("<Q320fBB41s41sBf")
COMMAND = struct.Struct("<Q7d7d16d6d2dBB7dB")
IDENTITY = np.eye(4).flatten(order="F")


@dataclass
class RobotState:
    """One state datagram's content: ``floats`` by name (missing ones are zero; the 4x4
    transforms default to identity), the modes and the 41 error flags."""

    message_id: int
    floats: dict[str, np.ndarray] = field(default_factory=dict)
    robot_mode: int = MODE_IDLE
    motion_generator_mode: int = GENERATOR_IDLE
    controller_mode: int = CONTROLLER_OTHER
    errors: frozenset[str] = frozenset()
    reflex_reason: frozenset[str] = frozenset()
    control_command_success_rate: float = 1.0

    def pack(self) -> bytes:
        values: list[float] = []
        for name, n in STATE_FLOATS:
            default = IDENTITY if n == 16 else np.zeros(n)
            values.extend(np.asarray(self.floats.get(name, default), dtype=float).ravel())
        return STATE.pack(
            self.message_id,
            *values,
            self.motion_generator_mode,
            self.controller_mode,
            _flags(self.errors),
            _flags(self.reflex_reason),
            self.robot_mode,
            self.control_command_success_rate,
        )


def _flags(names: frozenset[str]) -> bytes:
    return bytes(int(name in names) for name in ERRORS)


@dataclass(frozen=True)
class RobotCommand:
    """What a command datagram carries for torque and joint velocity control: the state it
    answers, the commanded joint velocity ``dq`` (7,) rad/s (``dq_c``) and whether the motion
    generator is finished, the desired torque ``tau`` (7,) Nm on top of gravity (``tau_J_d``)
    and whether the torque command is finished."""

    message_id: int
    dq: np.ndarray
    motion_finished: bool
    tau: np.ndarray
    finished: bool

    @classmethod
    def unpack(cls, data: bytes) -> RobotCommand:
        if len(data) != COMMAND.size:
            raise ValueError(f"a command is {COMMAND.size} bytes, got {len(data)}")
        values = COMMAND.unpack(data)
        return cls(
            message_id=int(values[0]),
            dq=np.array(values[8:15]),
            motion_finished=bool(values[-9]),
            tau=np.array(values[-8:-1]),
            finished=bool(values[-1]),
        )
