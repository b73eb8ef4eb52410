"""Build a MuJoCo scene from a robot's URDF with `mujoco.MjSpec`.

The URDF gives the arm; this module adds what a simulation needs and a URDF has no place for:
gravity compensation on the arm's bodies (MuJoCo's ``gravcomp``, the simulator's equivalent
of Franka's own g(q)), one torque motor per arm joint limited to the datasheet torque, a
position-servoed parallel gripper, a table the robot stands on, a floor, lights, and a task's
objects (`robostack.sim.scene`): cubes are free bodies, markers mocap bodies, fixtures bodies welded
to the world that a task may move between episodes.

Contacts: the arm collides with the scene (table, floor, objects) but not with itself; its
primitive shapes are too coarse to decide self-contact, and the safety layer, not the
physics, keeps the arm out of itself. Bits: arm geoms contype=ARM, conaffinity=0; static
scene geoms contype=0, conaffinity=ARM|OBJECT; movable objects contype=conaffinity=OBJECT|ARM.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco

from robostack.core.model import load_urdf
from robostack.core.robots import RobotDescription
from robostack.sim.cameras import Camera
from robostack.sim.mujoco.camera import add_cameras
from robostack.sim.scene import (
    FLOOR_Z,
    GRIPPER_FORCE_MAX,
    GRIPPER_KP,
    GRIPPER_KV,
    TABLE_CENTER_X,
    TABLE_RGBA,
    TABLE_SIZE,
    TABLE_TOP_Z,
    TIMESTEP_S,
    Cube,
    Fixture,
    Marker,
    SceneObject,
    rgba,
)

ARM, OBJECT = 1, 2  # contact bits


@dataclass(frozen=True)
class SceneConfig:
    """Options for `build_scene`.

    Attributes:
        timestep: physics step, s (one control tick).
        table: add the table the robot stands on.
        objects: a task's objects (`robostack.sim.scene`).
        cameras: the scene's cameras (`robostack.sim.cameras`).
    """

    timestep: float = TIMESTEP_S
    table: bool = True
    objects: tuple[SceneObject, ...] = ()
    cameras: tuple[Camera, ...] = ()


def build_scene(description: RobotDescription, config: SceneConfig | None = None) -> mujoco.MjSpec:
    """Return an uncompiled scene spec: robot, motors, gripper servos, table, floor, lights,
    a task's objects and the cameras."""
    config = config or SceneConfig()
    spec = load_urdf(description)
    spec.modelname = f"{description.name}_scene"
    spec.option.timestep = config.timestep
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST

    for body in spec.bodies:
        if body.name != "world":
            body.gravcomp = 1.0
    for geom in spec.geoms:
        if geom.contype or geom.conaffinity:  # collision geoms (URDF visuals have neither)
            geom.contype, geom.conaffinity = ARM, 0
    limits = description.spec
    for name, tau_max in zip(description.arm_joints, limits.tau_max, strict=True):
        motor = spec.add_actuator(name=f"{name}_motor", target=name)
        motor.trntype = mujoco.mjtTrn.mjTRN_JOINT
        motor.ctrllimited = True
        motor.ctrlrange = [-tau_max, tau_max]
    for name in description.gripper_joints:
        servo = spec.add_actuator(name=f"{name}_servo", target=name)
        servo.trntype = mujoco.mjtTrn.mjTRN_JOINT
        servo.gainprm[0] = GRIPPER_KP
        servo.biastype = mujoco.mjtBias.mjBIAS_AFFINE
        servo.biasprm[:3] = [0.0, -GRIPPER_KP, -GRIPPER_KV]
        servo.forcelimited = True
        servo.forcerange = [-GRIPPER_FORCE_MAX, GRIPPER_FORCE_MAX]

    world = spec.worldbody
    if config.table:
        sx, sy, sz = TABLE_SIZE
        world.add_geom(
            name="table",
            type=mujoco.mjtGeom.mjGEOM_BOX,
            size=[sx, sy, sz],
            pos=[TABLE_CENTER_X, 0.0, TABLE_TOP_Z - sz],
            rgba=list(TABLE_RGBA),
            contype=0,
            conaffinity=ARM | OBJECT,
        )
    world.add_geom(
        name="floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=[3.0, 3.0, 0.1],
        pos=[0.0, 0.0, FLOOR_Z],
        rgba=[0.3, 0.3, 0.3, 1.0],
        contype=0,
        conaffinity=ARM | OBJECT,
    )
    world.add_light(name="key", pos=[0.5, -1.0, 2.5], dir=[-0.2, 0.4, -1.0], diffuse=[0.8] * 3)
    for obj in config.objects:
        _add_object(world, obj)
    add_cameras(spec, config.cameras, description.tool_link)
    return spec


def _add_object(world: mujoco.MjsBody, obj: SceneObject) -> None:
    """``obj`` as bodies and geoms named after it (one geom ``<name>``, or ``<name>_<i>``)."""
    box, sphere = mujoco.mjtGeom.mjGEOM_BOX, mujoco.mjtGeom.mjGEOM_SPHERE
    if isinstance(obj, Cube):
        body = world.add_body(name=obj.name, pos=[0.5, 0.0, TABLE_TOP_Z + obj.half])
        body.add_freejoint(name=f"{obj.name}_free")
        body.add_geom(
            name=obj.name,
            type=box,
            size=[obj.half] * 3,
            mass=obj.mass,
            rgba=list(rgba(obj)),
            contype=OBJECT,
            conaffinity=OBJECT | ARM,
            friction=[obj.friction, 0.005, 0.0001],
        )
    elif isinstance(obj, Marker):
        body = world.add_body(name=obj.name, mocap=True, pos=[0.5, 0.0, 0.2])
        shape = {"sphere": sphere, "box": box}[obj.shape]
        body.add_geom(
            name=obj.name,
            type=shape,
            size=list(obj.size),
            rgba=list(rgba(obj)),
            contype=0,
            conaffinity=0,
        )
    elif isinstance(obj, Fixture):
        body = world.add_body(name=obj.name, pos=list(obj.position))
        for i, (centre, half) in enumerate(obj.boxes):
            body.add_geom(
                name=f"{obj.name}_{i}",
                type=box,
                pos=list(centre),
                size=list(half),
                rgba=list(rgba(obj)),
                contype=0,
                conaffinity=ARM | OBJECT,
            )
    else:
        raise TypeError(f"not a scene object: {obj!r}")
