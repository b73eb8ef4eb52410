"""Scene objects for tasks: coloured cubes (dynamic) and markers (mocap, visual only)."""

from __future__ import annotations

import mujoco
import numpy as np

from sim.mujoco.scene import ARM, OBJECT, TABLE_TOP_Z

COLOURS: dict[str, tuple[float, float, float, float]] = {
    "red": (0.85, 0.12, 0.12, 1.0),
    "green": (0.15, 0.7, 0.2, 1.0),
    "blue": (0.15, 0.3, 0.85, 1.0),
    "yellow": (0.95, 0.8, 0.1, 1.0),
}
CUBE_HALF = 0.025  # m
CUBE_MASS = 0.1  # kg


def add_cube(spec: mujoco.MjSpec, colour: str) -> None:
    """A free cube named ``cube_<colour>`` resting on the table."""
    body = spec.worldbody.add_body(name=f"cube_{colour}", pos=[0.5, 0.0, TABLE_TOP_Z + CUBE_HALF])
    body.add_freejoint(name=f"cube_{colour}_free")
    body.add_geom(
        name=f"cube_{colour}",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[CUBE_HALF] * 3,
        mass=CUBE_MASS,
        rgba=list(COLOURS[colour]),
        contype=OBJECT,
        conaffinity=OBJECT | ARM,
        friction=[0.8, 0.005, 0.0001],
    )


def add_marker(spec: mujoco.MjSpec, name: str, colour: str, *, size, shape: str) -> None:
    """A visual-only marker (a mocap body: placed by the task, never pushed around)."""
    body = spec.worldbody.add_body(name=name, mocap=True, pos=[0.5, 0.0, 0.2])
    geom_type = {"sphere": mujoco.mjtGeom.mjGEOM_SPHERE, "box": mujoco.mjtGeom.mjGEOM_BOX}[shape]
    body.add_geom(
        name=name,
        type=geom_type,
        size=list(size),
        rgba=[*COLOURS[colour][:3], 0.6],
        contype=0,
        conaffinity=0,
    )


def place_cube(model: mujoco.MjModel, data: mujoco.MjData, colour: str, xy) -> None:
    """Put ``cube_<colour>`` at (x, y) on the table, axis-aligned, at rest."""
    joint = model.joint(f"cube_{colour}_free")
    adr, vadr = joint.qposadr[0], joint.dofadr[0]
    data.qpos[adr : adr + 7] = [xy[0], xy[1], TABLE_TOP_Z + CUBE_HALF, 1.0, 0.0, 0.0, 0.0]
    data.qvel[vadr : vadr + 6] = 0.0


def place_marker(model: mujoco.MjModel, data: mujoco.MjData, name: str, position) -> None:
    data.mocap_pos[model.body(name).mocapid[0]] = position


def cube_position(model: mujoco.MjModel, data: mujoco.MjData, colour: str) -> np.ndarray:
    return data.xpos[model.body(f"cube_{colour}").id].copy()
