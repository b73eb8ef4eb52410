"""The robots robostack knows: URDF in ``assets/robots`` plus what a URDF cannot say.

Joint position, velocity and torque limits are read from the URDF (one source of truth);
acceleration and torque-rate limits, the home configuration, the tool frame and the
hardware's control rate are declared here.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robostack.core.errors import UnknownNameError
from robostack.core.paths import ROBOT_DESCRIPTIONS
from robostack.core.types import CommandMode, RobotSpec

_ALL_MODES = (CommandMode.TORQUE, CommandMode.VELOCITY, CommandMode.POSITION)


@dataclass(frozen=True, kw_only=True)
class RobotDescription:
    """A robot model: its URDF and the metadata a URDF has no field for.

    Attributes:
        name: registry name.
        urdf: path of the URDF file.
        arm_joints: names of the arm's actuated joints in chain order, length dof.
        tool_link: the link whose origin is the tool centre point (end effector).
        home: (dof,) home configuration, rad: the arm's start and rest pose.
        ddq_max: (dof,) joint acceleration limits, rad/s^2.
        dddq_max: (dof,) joint jerk limits, rad/s^3.
        dtau_max: torque rate limit, Nm/s.
        hardware_rate_hz: the rate of the real robot's control interface, Hz.
        compensates_gravity: the real robot adds g(q) to torque commands itself.
        command_modes: command modes of the real robot's interface.
        armature: (dof,) reflected rotor inertia per joint, kg m^2, added to the URDF's
            link inertias by `robostack.core.model.load_urdf` (model and simulation alike).
        gripper_joints: joints of a parallel gripper (each finger travels width / 2).
    """

    name: str
    urdf: Path
    arm_joints: tuple[str, ...]
    tool_link: str
    home: tuple[float, ...]
    ddq_max: tuple[float, ...]
    dddq_max: tuple[float, ...]
    dtau_max: float
    hardware_rate_hz: float
    compensates_gravity: bool
    command_modes: tuple[CommandMode, ...]
    armature: tuple[float, ...]
    gripper_joints: tuple[str, ...] = ()

    @functools.cached_property
    def spec(self) -> RobotSpec:
        """The `RobotSpec`, with limits from the URDF's ``<limit>`` tags."""
        limits = _urdf_joint_limits(self.urdf)
        rows = np.array([limits[j] for j in self.arm_joints])
        gripper_width_max = sum(limits[j][1] for j in self.gripper_joints)
        return RobotSpec(
            name=self.name,
            joint_names=self.arm_joints,
            q_min=rows[:, 0],
            q_max=rows[:, 1],
            dq_max=rows[:, 2],
            ddq_max=np.array(self.ddq_max),
            dddq_max=np.array(self.dddq_max),
            tau_max=rows[:, 3],
            dtau_max=self.dtau_max,
            control_rate_hz=self.hardware_rate_hz,
            command_modes=self.command_modes,
            compensates_gravity=self.compensates_gravity,
            has_gripper=bool(self.gripper_joints),
            gripper_width_max=gripper_width_max,
        )

    @property
    def q_home(self) -> np.ndarray:
        """(dof,) home configuration, rad."""
        return np.array(self.home)


def _urdf_joint_limits(urdf: Path) -> dict[str, tuple[float, float, float, float]]:
    """Map joint name -> (lower rad, upper rad, velocity rad/s, effort Nm) from a URDF."""
    out = {}
    for joint in ET.parse(urdf).getroot().iter("joint"):
        limit = joint.find("limit")
        if limit is not None:
            out[joint.get("name")] = tuple(
                float(limit.get(key)) for key in ("lower", "upper", "velocity", "effort")
            )
    return out


_PI = np.pi
_UR_JOINTS = tuple(
    f"{j}_joint"
    for j in ("shoulder_pan", "shoulder_lift", "elbow", "wrist_1", "wrist_2", "wrist_3")
)
# UR's datasheets give no joint acceleration, jerk or torque-rate limit; these are the stack's own
# conservative choices, enforced by the safety monitor.
_UR_DDQ_MAX = (10.0,) * 6
_UR_DDDQ_MAX = (5000.0,) * 6
_UR_DTAU_MAX = 1000.0
# shoulder_pan = pi turns the arm from the base frame's -x (UR's cable side) to the table at +x.
_UR_HOME = (_PI, -_PI / 2, _PI / 2, -_PI / 2, -_PI / 2, 0.0)
# Reflected rotor inertia (rotor inertia x gear ratio^2, ratio ~100 harmonic drives). Neither
# vendor publishes it; these estimates are the stack's own. Real arms have it, and without it
# the light wrist links make 1 kHz joint-space damping gains numerically unstable.
_ARMATURE_LARGE, _ARMATURE_SMALL = 0.1, 0.03
_UR_ARMATURE = (_ARMATURE_LARGE,) * 3 + (_ARMATURE_SMALL,) * 3

ROBOTS: dict[str, RobotDescription] = {
    "panda": RobotDescription(
        name="panda",
        urdf=ROBOT_DESCRIPTIONS / "panda.urdf",
        arm_joints=tuple(f"panda_joint{i}" for i in range(1, 8)),
        tool_link="panda_tcp",
        home=(0.0, -_PI / 4, 0.0, -3 * _PI / 4, 0.0, _PI / 2, _PI / 4),
        # Franka FCI "robot and interface specifications": ddq_max, dddq_max, dtau_max.
        ddq_max=(15.0, 7.5, 10.0, 12.5, 15.0, 20.0, 20.0),
        dddq_max=(7500.0, 3750.0, 5000.0, 6250.0, 7500.0, 10000.0, 10000.0),
        dtau_max=1000.0,
        hardware_rate_hz=1000.0,
        compensates_gravity=True,
        command_modes=_ALL_MODES,
        armature=(_ARMATURE_LARGE,) * 4 + (_ARMATURE_SMALL,) * 3,
        gripper_joints=("panda_finger_joint1", "panda_finger_joint2"),
    ),
    "ur5e": RobotDescription(
        name="ur5e",
        urdf=ROBOT_DESCRIPTIONS / "ur5e.urdf",
        arm_joints=_UR_JOINTS,
        tool_link="tool0",
        home=_UR_HOME,
        ddq_max=_UR_DDQ_MAX,
        dddq_max=_UR_DDDQ_MAX,
        dtau_max=_UR_DTAU_MAX,
        hardware_rate_hz=500.0,  # e-Series RTDE
        compensates_gravity=True,
        command_modes=_ALL_MODES,
        armature=_UR_ARMATURE,
    ),
    "ur5": RobotDescription(
        name="ur5",
        urdf=ROBOT_DESCRIPTIONS / "ur5.urdf",
        arm_joints=_UR_JOINTS,
        tool_link="tool0",
        home=_UR_HOME,
        ddq_max=_UR_DDQ_MAX,
        dddq_max=_UR_DDDQ_MAX,
        dtau_max=_UR_DTAU_MAX,
        hardware_rate_hz=125.0,  # CB3 RTDE
        compensates_gravity=True,
        # CB3 controllers have no direct torque interface; torque runs only in simulation.
        command_modes=(CommandMode.VELOCITY, CommandMode.POSITION),
        armature=_UR_ARMATURE,
    ),
}


def get_robot(name: str) -> RobotDescription:
    """Return the description registered as ``name``; unknown names list the known ones."""
    try:
        return ROBOTS[name]
    except KeyError:
        raise UnknownNameError("robot", name, ROBOTS) from None
