"""The URDFs in assets/robots against the manufacturers' published tables."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import mujoco
import numpy as np
import pytest

from robostack.core.model import load_urdf
from robostack.core.robots import ROBOTS, get_robot
from tests.conftest import model_of

PI = np.pi


def _rx(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0, 0], [0, c, -s, 0], [0, s, c, 0], [0, 0, 0, 1.0]])


def _rz(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])


def _trans(x, y, z):
    t = np.eye(4)
    t[:3, 3] = x, y, z
    return t


def craig_fk(table, q):
    """Modified DH (Franka's convention): T = Rx(alpha) Tx(a) Rz(theta) Tz(d) per row."""
    t = np.eye(4)
    for (a, d, alpha), theta in zip(table, q, strict=True):
        t = t @ _rx(alpha) @ _trans(a, 0, 0) @ _rz(theta) @ _trans(0, 0, d)
    return t


def standard_fk(table, q):
    """Standard DH (Universal Robots' convention): T = Rz(theta) Tz(d) Tx(a) Rx(alpha) per row."""
    t = np.eye(4)
    for (a, d, alpha), theta in zip(table, q, strict=True):
        t = t @ _rz(theta) @ _trans(0, 0, d) @ _trans(a, 0, 0) @ _rx(alpha)
    return t


# Franka FCI documentation, "Robot and interface specifications": (a, d, alpha); flange d=0.107.
PANDA_DH = [
    (0, 0.333, 0),
    (0, 0, -PI / 2),
    (0, 0.316, PI / 2),
    (0.0825, 0, PI / 2),
    (-0.0825, 0.384, -PI / 2),
    (0, 0, PI / 2),
    (0.088, 0, PI / 2),
]
PANDA_FLANGE_TO_TCP = _trans(0, 0, 0.107) @ _rz(-PI / 4) @ _trans(0, 0, 0.1034)
# Universal Robots, "DH parameters for calculations of kinematics and dynamics": (a, d, alpha).
UR5E_DH = [
    (0, 0.1625, PI / 2),
    (-0.425, 0, 0),
    (-0.3922, 0, 0),
    (0, 0.1333, PI / 2),
    (0, 0.0997, -PI / 2),
    (0, 0.0996, 0),
]
UR5_DH = [
    (0, 0.089159, PI / 2),
    (-0.425, 0, 0),
    (-0.39225, 0, 0),
    (0, 0.10915, PI / 2),
    (0, 0.09465, -PI / 2),
    (0, 0.0823, 0),
]


def published_tool_pose(name: str, q: np.ndarray) -> np.ndarray:
    if name == "panda":
        return craig_fk(PANDA_DH, q) @ PANDA_FLANGE_TO_TCP
    return standard_fk(UR5E_DH if name == "ur5e" else UR5_DH, q)


@pytest.mark.parametrize("configuration", ["home", "zero", "random"])
def test_tool_pose_matches_published_kinematics(robot_name, configuration):
    description = get_robot(robot_name)
    spec = description.spec
    q = {
        "home": description.q_home,
        "zero": np.clip(np.zeros(spec.dof), spec.q_min, spec.q_max),
        "random": np.random.default_rng(7).uniform(spec.q_min, spec.q_max),
    }[configuration]
    position, rotation = model_of(robot_name).tool_pose(q)
    expected = published_tool_pose(robot_name, q)
    assert np.linalg.norm(position - expected[:3, 3]) < 1e-3  # within 1 mm
    assert np.allclose(rotation, expected[:3, :3], atol=1e-6)


def test_panda_home_is_frankas_ready_pose():
    # Franka's "ready" pose puts the TCP at about (0.307, 0, 0.487) m, pointing down.
    position, rotation = model_of("panda").tool_pose(get_robot("panda").q_home)
    assert np.allclose(position, [0.3069, 0.0, 0.4869], atol=1e-3)
    assert np.allclose(rotation[:, 2], [0, 0, -1], atol=1e-6)


def test_joint_counts_and_names(robot_name):
    spec = get_robot(robot_name).spec
    assert spec.dof == (7 if robot_name == "panda" else 6)
    assert len(set(spec.joint_names)) == spec.dof
    assert spec.has_gripper == (robot_name == "panda")


def test_datasheet_limits():
    panda = get_robot("panda").spec
    assert np.allclose(panda.q_max, [2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973])
    assert np.allclose(panda.q_min, [-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973])
    assert np.allclose(panda.dq_max, [2.175] * 4 + [2.61] * 3)
    assert np.allclose(panda.tau_max, [87] * 4 + [12] * 3)
    assert panda.dtau_max == 1000.0
    assert panda.gripper_width_max == pytest.approx(0.08)
    for name in ("ur5e", "ur5"):
        ur = get_robot(name).spec
        assert np.allclose(ur.q_max, 2 * PI) and np.allclose(ur.q_min, -2 * PI)
        assert np.allclose(ur.dq_max, PI)
        assert np.allclose(ur.tau_max, [150, 150, 150, 28, 28, 28])
    assert get_robot("ur5e").hardware_rate_hz == 500 and get_robot("ur5").hardware_rate_hz == 125


PUBLISHED_MASSES = {
    "panda": [4.970684, 0.646926, 3.228604, 3.587895, 1.225946, 1.666555, 0.735522],
    "ur5e": [3.761, 8.058, 2.846, 1.37, 1.3, 0.365],
    "ur5": [3.7, 8.393, 2.33, 1.219, 1.219, 0.1879],
}


def test_link_masses_are_the_published_ones(robot_name):
    model = model_of(robot_name).model
    masses = [
        model.body(model.joint(j).bodyid[0]).mass[0] for j in get_robot(robot_name).arm_joints
    ]
    assert np.allclose(masses, PUBLISHED_MASSES[robot_name])
    assert np.all(model.body_mass[1:][model.body_mass[1:] > 0] > 0)


def test_inertias_are_physical(robot_name):
    """Positive principal moments obeying the triangle inequality (MuJoCo checks it too)."""
    model = model_of(robot_name).model
    for body in range(1, model.nbody):
        if model.body_mass[body] == 0:
            continue
        i = np.sort(model.body_inertia[body])
        assert i[0] > 0 and i[0] + i[1] >= i[2] - 1e-9, model.body(body).name


def test_urdfs_are_self_contained():
    """No meshes or external files: primitive shapes only, nothing to download."""
    for description in ROBOTS.values():
        root = ET.parse(description.urdf).getroot()
        assert root.find(".//mesh") is None
        assert mujoco.MjSpec.from_file(str(description.urdf)).compile().nmeshvert == 0


def _without_frame_inertials_and_mimics(urdf: str) -> str:
    """The URDF with the explicit zero-mass ``<inertial>`` of frame-only links and the
    ``<mimic>`` tags taken out: what MuJoCo would see if they were not there."""
    root = ET.fromstring(urdf)
    for link in root.iter("link"):
        inertial = link.find("inertial")
        if inertial is not None and float(inertial.find("mass").get("value")) == 0.0:
            link.remove(inertial)
    for joint in root.iter("joint"):
        for mimic in joint.findall("mimic"):
            joint.remove(mimic)
    return ET.tostring(root, encoding="unicode")


@pytest.mark.parametrize("name", sorted(ROBOTS))
def test_the_frame_inertials_and_mimics_leave_the_mujoco_model_as_it_was(name, tmp_path):
    description = get_robot(name)
    bare = tmp_path / description.urdf.name
    bare.write_text(_without_frame_inertials_and_mimics(description.urdf.read_text()))
    ours = load_urdf(description).compile()
    theirs = load_urdf(dataclasses.replace(description, urdf=bare)).compile()
    assert (ours.nbody, ours.njnt, ours.nq, ours.nv, ours.neq) == (
        theirs.nbody,
        theirs.njnt,
        theirs.nq,
        theirs.nv,
        theirs.neq,
    )
    for field in ("body_mass", "body_inertia", "dof_armature", "jnt_range"):
        np.testing.assert_array_equal(getattr(ours, field), getattr(theirs, field), err_msg=field)
    massive = ours.body_mass > 0  # a massless frame's centre of mass is no part of the model
    np.testing.assert_array_equal(ours.body_ipos[massive], theirs.body_ipos[massive])
    rng = np.random.default_rng(0)
    for _ in range(3):
        qpos, qvel = rng.uniform(*ours.jnt_range.T), rng.normal(size=ours.nv)
        dynamics = []
        for model in (ours, theirs):
            data = mujoco.MjData(model)
            data.qpos[:], data.qvel[:] = qpos, qvel
            mujoco.mj_forward(model, data)
            M = np.zeros((model.nv, model.nv))
            mujoco.mj_fullM(model, data, M)
            dynamics.append((M, data.qfrc_bias.copy()))
        np.testing.assert_allclose(dynamics[0][0], dynamics[1][0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(dynamics[0][1], dynamics[1][1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(ROBOTS))
def test_pybullet_loading_the_shipped_urdf_invents_no_mass(name):
    import pybullet

    client = pybullet.connect(pybullet.DIRECT)
    try:
        robot = pybullet.loadURDF(
            str(get_robot(name).urdf), useFixedBase=True, physicsClientId=client
        )
        loaded = {
            pybullet.getJointInfo(robot, i, physicsClientId=client)[12].decode(): (
                pybullet.getDynamicsInfo(robot, i, physicsClientId=client)[0]
            )
            for i in range(pybullet.getNumJoints(robot, physicsClientId=client))
        }
    finally:
        pybullet.disconnect(client)
    declared = {
        link.get("name"): float(link.find("inertial/mass").get("value"))
        for link in ET.parse(get_robot(name).urdf).getroot().iter("link")
    }
    assert loaded == {link: declared[link] for link in loaded}


@pytest.mark.parametrize("name", sorted(ROBOTS))
def test_yourdfpy_reads_the_declared_masses_joints_and_finger_mimic(name):
    import yourdfpy

    description = get_robot(name)
    urdf = yourdfpy.URDF.load(str(description.urdf), load_meshes=False)
    assert urdf.validate()
    assert all(link.inertial is not None for link in urdf.robot.links)
    fingers = description.gripper_joints[:1]
    assert urdf.actuated_joint_names == [*description.arm_joints, *fingers]
    if fingers:
        mimic = urdf.joint_map[description.gripper_joints[1]].mimic
        assert (mimic.joint, mimic.multiplier, mimic.offset) == (fingers[0], 1.0, 0.0)
