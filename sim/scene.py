"""What a task scene holds, for every simulator: the table, coloured objects, and the calls a
task makes on a running simulation.

A task declares its objects as data (`Cube`, `Marker`, `Fixture`); each simulator backend
(`robostack.sim.mujoco`, `robostack.sim.pybullet`) builds them around the robot on its table and
implements `TaskScene`, through which the task places them for an episode and reads them back.
Positions are in the robot's base frame, m; the base stands on the table top (z = `TABLE_TOP_Z`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from robostack.core.types import JointState

TABLE_TOP_Z = 0.0  # the robot's base stands on the table top, m
TIMESTEP_S = 0.001  # physics step, s: one 1 kHz control tick, in every simulator
TABLE_SIZE = (0.8, 0.7, 0.03)  # half extents, m
TABLE_CENTER_X = 0.3  # m
TABLE_RGBA = (0.55, 0.45, 0.35, 1.0)
FLOOR_Z = -0.75  # m
MARKER_ALPHA = 0.6  # markers are seen through
CUBE_HALF = 0.025  # m: half the edge of the tasks' cubes
# the parallel gripper's fingers are position servos: a PD per finger, force-limited
GRIPPER_KP = 2000.0  # N/m per finger
GRIPPER_KV = 20.0  # N s/m per finger
GRIPPER_FORCE_MAX = 70.0  # N per finger, Franka Hand continuous force
GRIPPER_SPEED = 0.1  # m/s of width (0.05 m/s per finger): the Franka Hand's top speed


class GripperTarget:
    """The finger servos' target, which moves toward the commanded width at `GRIPPER_SPEED`, as
    the Hand's own controller does: a close command brings the fingers onto an object at the
    Hand's speed instead of slamming them into it (at 1 ms steps a slammed finger sinks deep
    into the cube and the contact kicks the arm).

    Attributes:
        commanded: the last commanded width, m.  width: the servos' target width now, m.
    """

    def __init__(self, width: float):
        self.commanded = self.width = float(width)

    def step(self, command: float | None, dt: float) -> float:
        """Take ``command`` (m; None keeps the last) and advance ``dt`` s; returns the target
        of each finger (half the width), m."""
        if command is not None:
            self.commanded = float(command)
        most = GRIPPER_SPEED * dt
        self.width += min(max(self.commanded - self.width, -most), most)
        return 0.5 * self.width


COLOURS: dict[str, tuple[float, float, float, float]] = {
    "red": (0.85, 0.12, 0.12, 1.0),
    "green": (0.15, 0.7, 0.2, 1.0),
    "blue": (0.15, 0.3, 0.85, 1.0),
    "yellow": (0.95, 0.8, 0.1, 1.0),
    "grey": (0.6, 0.6, 0.65, 1.0),
    "brown": (0.45, 0.35, 0.25, 1.0),
}


@dataclass(frozen=True)
class Cube:
    """A free cube that rests on the table and can be pushed, grasped and carried.

    Attributes: name; colour (a `COLOURS` key); half: half the edge, m; mass, kg; friction:
    sliding friction coefficient.
    """

    name: str
    colour: str
    half: float = CUBE_HALF
    mass: float = 0.1
    friction: float = 0.8


@dataclass(frozen=True)
class Marker:
    """A visual-only marker, placed by the task and never touched (nothing collides with it).

    Attributes: name; colour; shape ("sphere" or "box"); size: (radius,) or box half extents, m.
    """

    name: str
    colour: str
    shape: str
    size: tuple[float, ...]


@dataclass(frozen=True)
class Fixture:
    """A static body of boxes the arm and cubes collide with (a wall, a bin); the task may move
    it between episodes.

    Attributes: name; colour; boxes: ((centre (3,), half extents (3,)), ...) in the fixture's
    frame, m; position: where the fixture's frame starts, m.
    """

    name: str
    colour: str
    boxes: tuple[tuple[tuple[float, float, float], tuple[float, float, float]], ...]
    position: tuple[float, float, float] = (0.5, 0.0, TABLE_TOP_Z)


SceneObject = Cube | Marker | Fixture


class TaskScene(Protocol):
    """What a task may do with a running simulation (`robostack.sim.mujoco.MujocoRobot`,
    `robostack.sim.pybullet.PybulletRobot`)."""

    def place(self, name: str, position: np.ndarray) -> None:
        """Put object ``name`` at ``position`` (3,) m: a cube's centre, at rest and upright; a
        marker's centre; a fixture's frame."""
        ...

    def position(self, name: str) -> np.ndarray:
        """Where object ``name`` is now, (3,) m (a cube's centre, a marker's, a fixture's frame)."""
        ...

    def recolour(self, name: str, colour: str) -> None:
        """Give object ``name`` another `COLOURS` colour (markers keep their transparency)."""
        ...

    def tool_position(self) -> np.ndarray:
        """(3,) the tool link's position, m."""
        ...

    def read(self) -> JointState:
        """The arm's state (the gripper width among it)."""
        ...


def rgba(obj: SceneObject, colour: str | None = None) -> tuple[float, float, float, float]:
    """``obj``'s colour (or ``colour``) as RGBA in [0, 1]; markers are translucent."""
    r, g, b, a = COLOURS[colour or obj.colour]
    return (r, g, b, MARKER_ALPHA) if isinstance(obj, Marker) else (r, g, b, a)
