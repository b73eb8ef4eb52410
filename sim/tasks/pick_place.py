"""pick_place: pick the cube of the named colour and place it in the bin.

Two cubes lie on the table and an open bin stands beside them (its place drawn per episode).
The gripper is one more action dimension: the expert opens it, comes down over the cube,
closes it, lifts, carries the cube over the bin, lowers it, opens the gripper and backs away.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from robostack.controllers.references import (
    CartesianLine,
    Dwell,
    ReferenceSequence,
    WaypointReference,
)
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.sim.scene import CUBE_HALF, TABLE_TOP_Z, Cube, Fixture, TaskScene
from robostack.sim.tasks.base import Task, TaskState, solve, tool_down_rotation

CUBE_COLOURS = ("red", "blue")
BIN_INNER_HALF = 0.075  # m, square inside
BIN_WALL = (0.006, 0.035)  # half thickness, half height of the walls, m
OPEN, CLOSED = 0.08, 0.0  # gripper width targets, m
CARRY_HEIGHT = 0.18  # m: tool height while carrying (the bin's walls are 7 cm)


class PickPlace(Task):
    name = "pick_place"
    template = "put the {colour} cube in the bin"
    paraphrases = (
        "pick up the {colour} cube and place it in the bin",
        "grasp the {colour} cube and drop it into the bin",
        "pick up the {colour} cube",
    )
    objects = MappingProxyType({"cube": CUBE_COLOURS, "bin": ()})
    slot_objects = MappingProxyType({"colour": "cube"})
    time_limit_s = 20.0
    robots = ("panda",)  # needs the gripper

    def scene_objects(self) -> tuple[Cube | Fixture, ...]:
        thick, half_height = BIN_WALL
        outer = BIN_INNER_HALF + thick
        boxes = (
            ((0.0, 0.0, thick), (outer, outer, thick)),  # floor
            ((-outer, 0.0, half_height), (thick, outer, half_height)),
            ((outer, 0.0, half_height), (thick, outer, half_height)),
            ((0.0, -outer, half_height), (outer, thick, half_height)),
            ((0.0, outer, half_height), (outer, thick, half_height)),
        )
        cubes = tuple(Cube(f"cube_{c}", c) for c in CUBE_COLOURS)
        return (*cubes, Fixture("bin", "brown", boxes, position=(0.5, -0.2, TABLE_TOP_Z)))

    def reset(
        self, sim: TaskScene, rng: np.random.Generator, slots: Mapping[str, str] | None = None
    ) -> TaskState:
        colour = self.chosen("colour", rng.permutation(CUBE_COLOURS)[0], slots)
        other = next(c for c in CUBE_COLOURS if c != colour)
        while True:
            cube = np.array([rng.uniform(0.4, 0.6), rng.uniform(-0.15, 0.15)])
            bin_xy = np.array([rng.uniform(0.4, 0.6), rng.uniform(-0.3, 0.3)])
            other_xy = np.array([rng.uniform(0.35, 0.65), rng.uniform(-0.3, 0.3)])
            far = BIN_INNER_HALF + 0.08
            if (
                np.max(np.abs(cube - bin_xy)) > far
                and np.max(np.abs(other_xy - bin_xy)) > far
                and np.linalg.norm(other_xy - cube) > 0.12
            ):
                break
        sim.place(f"cube_{colour}", np.array([*cube, TABLE_TOP_Z + CUBE_HALF]))
        sim.place(f"cube_{other}", np.array([*other_xy, TABLE_TOP_Z + CUBE_HALF]))
        sim.place("bin", np.array([*bin_xy, TABLE_TOP_Z]))
        return TaskState(
            slots={"colour": str(colour)},
            positions={
                "cube": np.array([*cube, TABLE_TOP_Z + CUBE_HALF]),
                "bin": np.array([*bin_xy, TABLE_TOP_Z]),
                "other_cube": np.array([*other_xy, TABLE_TOP_Z + CUBE_HALF]),
            },
        )

    def success(self, sim: TaskScene, state: TaskState) -> bool:
        cube = sim.position(f"cube_{state.slots['colour']}")
        inside = np.all(np.abs(cube[:2] - state.positions["bin"][:2]) < BIN_INNER_HALF)
        resting = cube[2] < TABLE_TOP_Z + 2 * BIN_WALL[0] + CUBE_HALF + 0.01
        released = (sim.read().gripper_width or 0.0) > 2 * CUBE_HALF + 0.005
        return bool(inside and resting and released)

    def environment_state(self, sim: TaskScene, state: TaskState) -> np.ndarray:
        other = next(c for c in CUBE_COLOURS if c != state.slots["colour"])
        return np.concatenate(
            [
                sim.position(f"cube_{state.slots['colour']}"),
                state.positions["bin"],
                sim.position(f"cube_{other}"),
            ]
        )

    def expert(self, model: RigidBodyModel, q_start: np.ndarray, state: TaskState):
        spec = get_robot(model.description.name).spec
        limits = {"dq_max": spec.dq_max, "ddq_max": spec.ddq_max, "dddq_max": spec.dddq_max}
        rotation = tool_down_rotation(model)
        cube, bin_xy = state.positions["cube"], state.positions["bin"][:2]
        grasp_z = TABLE_TOP_Z + CUBE_HALF + 0.005
        release_z = TABLE_TOP_Z + 2 * BIN_WALL[0] + CUBE_HALF + 0.04
        high = TABLE_TOP_Z + CARRY_HEIGHT
        q_above = solve(model, [*cube[:2], high], rotation, q_start, "above the cube")
        q_over_bin = solve(model, [*bin_xy, high], rotation, q_above, "over the bin")
        to_cube = WaypointReference(
            "to the cube", np.stack([q_start, q_above]), speed=0.4, **limits
        )
        down = CartesianLine("down", model, q_above, np.array([*cube[:2], grasp_z]), duration=1.2)
        grasp = Dwell("grasp", down.q_end, 0.6)
        up = CartesianLine("lift", model, down.q_end, np.array([*cube[:2], high]), duration=1.2)
        carry = WaypointReference("carry", np.stack([up.q_end, q_over_bin]), speed=0.3, **limits)
        lower = CartesianLine(
            "lower", model, q_over_bin, np.array([*bin_xy, release_z]), duration=1.0
        )
        release = Dwell("release", lower.q_end, 0.6)
        leave = CartesianLine("leave", model, lower.q_end, np.array([*bin_xy, high]), duration=1.0)
        widths = [OPEN, OPEN, CLOSED, CLOSED, CLOSED, CLOSED, OPEN, OPEN]
        parts = [to_cube, down, grasp, up, carry, lower, release, leave]
        for part, width in zip(parts, widths, strict=True):
            part.gripper_width = width
        return ReferenceSequence(parts)
