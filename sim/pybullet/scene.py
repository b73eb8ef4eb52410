"""Build a PyBullet world from a robot's URDF: the arm, its table, a floor, a task's objects.

PyBullet needs a few things said that MuJoCo infers (`robostack.sim.mujoco.scene` is the
counterpart),
so it loads a copy of the URDF written for it (`pybullet_urdf`):

- the joints' reflected rotor inertia (armature, `robostack.core.robots`), which PyBullet has no
  notion of, added to each arm link as a thin disc turning about the joint axis (I_a about
  it, I_a / 2 about the axes across: a physical body, which PyBullet insists on). That puts
  the same inertia on the joint's own diagonal of M(q) as MuJoCo's armature does, and some on
  the joints upstream (where the disc turns with its link); without it the light wrist cannot
  take the controllers' damping at 1 kHz (the sampled D-term diverges);
- inertias from that file (``URDF_USE_INERTIA_FROM_FILE``; otherwise they are recomputed from
  the collision shapes);
- no link damping (PyBullet's default is 0.04, linear and quadratic in the speed), and the
  default velocity motor of every joint switched off (with force 0): at 1 kHz it would brake
  the arm like a clutch. Torques are then the only actuation;
- gravity, the 1 ms step and deterministic contact pairs.

Contacts: the arm collides with the table, the floor, cubes and fixtures, not with itself
(PyBullet's default; the same rule as the MuJoCo scene). Markers have no collision shape.
PyBullet multiplies the friction coefficients of a contact's two bodies (MuJoCo takes the
larger): the table and the arm have 1.0, so a cube's own coefficient is its friction on both.
A cube's contacts are a spring of `CUBE_CONTACT_STIFFNESS`, critically damped for its mass,
where PyBullet's default is rigid with penetration recovery: that turned the first touch of a
push into a one-step 25 N spike on the fingers, past the arm's collision threshold. MuJoCo's
contacts are soft by default.
"""

from __future__ import annotations

import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from robostack.core.robots import RobotDescription
from robostack.sim.scene import (
    FLOOR_Z,
    TABLE_CENTER_X,
    TABLE_RGBA,
    TABLE_SIZE,
    TABLE_TOP_Z,
    Cube,
    Fixture,
    Marker,
    SceneObject,
    rgba,
)

SURFACE_FRICTION = 1.0  # table, floor and arm links
CUBE_CONTACT_STIFFNESS = 1e4  # N/m


@dataclass(frozen=True)
class World:
    """Handles of a built world: the PyBullet client, the arm's body and link indices by
    name, and each object's body by name."""

    client: int
    robot: int
    links: dict[str, int]  # link (child) name -> joint / link index
    joints: dict[str, int]  # joint name -> index
    movable: list[int]  # every joint with a degree of freedom, arm and fingers
    objects: dict[str, int]


def build_world(
    description: RobotDescription, objects: tuple[SceneObject, ...], timestep: float
) -> World:
    """Connect a headless PyBullet client and build the arm on its table with ``objects``."""
    pb = import_pybullet()
    client = pb.connect(pb.DIRECT)
    pb.setGravity(0.0, 0.0, -9.81, physicsClientId=client)
    pb.setTimeStep(timestep, physicsClientId=client)
    pb.setPhysicsEngineParameter(deterministicOverlappingPairs=1, physicsClientId=client)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / description.urdf.name
        path.write_text(pybullet_urdf(description))
        robot = pb.loadURDF(
            str(path),
            useFixedBase=True,
            flags=pb.URDF_USE_INERTIA_FROM_FILE,
            physicsClientId=client,
        )
    joints, links, movable = {}, {}, []
    for index in range(pb.getNumJoints(robot, physicsClientId=client)):
        info = pb.getJointInfo(robot, index, physicsClientId=client)
        joints[info[1].decode()], links[info[12].decode()] = index, index
        if info[2] != pb.JOINT_FIXED:
            movable.append(index)
        pb.changeDynamics(robot, index, lateralFriction=SURFACE_FRICTION, physicsClientId=client)
    pb.changeDynamics(robot, -1, linearDamping=0.0, angularDamping=0.0, physicsClientId=client)
    pb.setJointMotorControlArray(
        robot, movable, pb.VELOCITY_CONTROL, forces=[0.0] * len(movable), physicsClientId=client
    )
    sx, sy, sz = TABLE_SIZE
    _static_box(pb, client, [sx, sy, sz], [TABLE_CENTER_X, 0.0, TABLE_TOP_Z - sz], TABLE_RGBA)
    floor = pb.createCollisionShape(pb.GEOM_PLANE, physicsClientId=client)
    pb.createMultiBody(0.0, floor, basePosition=[0.0, 0.0, FLOOR_Z], physicsClientId=client)
    bodies = {obj.name: _add_object(pb, client, obj) for obj in objects}
    return World(client, robot, links, joints, movable, bodies)


def import_pybullet():
    """The ``pybullet`` module, imported without the build-time banner it writes to stderr."""
    if "pybullet" not in sys.modules:
        saved, quiet = os.dup(2), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(quiet, 2)
            import pybullet  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(quiet)
    return sys.modules["pybullet"]


def pybullet_urdf(description: RobotDescription) -> str:
    """The robot's URDF as PyBullet should load it (module doc): the armature I_a added to
    each arm joint's child link as a disc about the joint's axis a: I + I_a / 2 (1 + a a^T),
    in the inertial frame."""
    root = ET.parse(description.urdf).getroot()
    links = {link.get("name"): link for link in root.iter("link")}
    joints = {joint.get("name"): joint for joint in root.iter("joint")}
    for name, armature in zip(description.arm_joints, description.armature, strict=True):
        joint = joints[name]
        axis_element = joint.find("axis")
        axis = np.array(
            [
                float(v)
                for v in (axis_element.get("xyz") if axis_element is not None else "1 0 0").split()
            ]
        )
        inertial = links[joint.find("child").get("link")].find("inertial")
        origin = inertial.find("origin")
        rpy = [
            float(v)
            for v in (origin.get("rpy", "0 0 0") if origin is not None else "0 0 0").split()
        ]
        a = Rotation.from_euler("xyz", rpy).inv().apply(axis / np.linalg.norm(axis))
        inertia = inertial.find("inertia")
        added = 0.5 * armature * (np.eye(3) + np.outer(a, a))
        for key, (i, j) in _INERTIA.items():
            inertia.set(key, f"{float(inertia.get(key, '0')) + added[i, j]:.9g}")
    return ET.tostring(root, encoding="unicode")


_INERTIA = {
    "ixx": (0, 0),
    "ixy": (0, 1),
    "ixz": (0, 2),
    "iyy": (1, 1),
    "iyz": (1, 2),
    "izz": (2, 2),
}


def _static_box(pb, client: int, half, position, colour) -> int:
    shape = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half, physicsClientId=client)
    look = pb.createVisualShape(
        pb.GEOM_BOX, halfExtents=half, rgbaColor=colour, physicsClientId=client
    )
    body = pb.createMultiBody(0.0, shape, look, basePosition=position, physicsClientId=client)
    pb.changeDynamics(body, -1, lateralFriction=SURFACE_FRICTION, physicsClientId=client)
    return body


def _add_object(pb, client: int, obj: SceneObject) -> int:
    colour = rgba(obj)
    if isinstance(obj, Cube):
        half = [obj.half] * 3
        shape = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half, physicsClientId=client)
        look = pb.createVisualShape(
            pb.GEOM_BOX, halfExtents=half, rgbaColor=colour, physicsClientId=client
        )
        body = pb.createMultiBody(
            obj.mass,
            shape,
            look,
            basePosition=[0.5, 0.0, TABLE_TOP_Z + obj.half],
            physicsClientId=client,
        )
        pb.changeDynamics(
            body,
            -1,
            lateralFriction=obj.friction,
            linearDamping=0.0,
            angularDamping=0.0,
            contactStiffness=CUBE_CONTACT_STIFFNESS,
            contactDamping=2.0 * np.sqrt(CUBE_CONTACT_STIFFNESS * obj.mass),  # N s/m
            physicsClientId=client,
        )
        return body
    if isinstance(obj, Marker):
        if obj.shape == "sphere":
            look = pb.createVisualShape(
                pb.GEOM_SPHERE, radius=obj.size[0], rgbaColor=colour, physicsClientId=client
            )
        else:
            look = pb.createVisualShape(
                pb.GEOM_BOX, halfExtents=list(obj.size), rgbaColor=colour, physicsClientId=client
            )
        return pb.createMultiBody(
            0.0, -1, look, basePosition=[0.5, 0.0, 0.2], physicsClientId=client
        )
    if isinstance(obj, Fixture):
        centres = [list(centre) for centre, _ in obj.boxes]
        halves = [list(half) for _, half in obj.boxes]
        n = len(obj.boxes)
        shape = pb.createCollisionShapeArray(
            [pb.GEOM_BOX] * n,
            halfExtents=halves,
            collisionFramePositions=centres,
            physicsClientId=client,
        )
        look = pb.createVisualShapeArray(
            [pb.GEOM_BOX] * n,
            halfExtents=halves,
            visualFramePositions=centres,
            rgbaColors=[colour] * n,
            physicsClientId=client,
        )
        body = pb.createMultiBody(
            0.0, shape, look, basePosition=list(obj.position), physicsClientId=client
        )
        pb.changeDynamics(body, -1, lateralFriction=SURFACE_FRICTION, physicsClientId=client)
        return body
    raise TypeError(f"not a scene object: {obj!r}")
