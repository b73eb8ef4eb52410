"""obstacle: bring the tool, low over the table, to a marker behind a block.

The tool travels 10 cm above the table and the block is 18 cm tall, so the tool must go round
it (the arm's upper links pass above). The expert goes round on the left or on the right with
equal probability (drawn with the episode), so its demonstrations have two equally good modes:
a policy that averages them drives into the block.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from robostack.controllers.references import CartesianLine, ReferenceSequence, WaypointReference
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.sim.scene import TABLE_TOP_Z, Fixture, Marker, TaskScene
from robostack.sim.tasks.base import Task, TaskState, solve, tool_down_rotation

WALL_CENTRE = np.array([0.47, 0.0])  # m, on the table
WALL_HALF = np.array([0.04, 0.07, 0.09])  # m: a block 14 cm wide, 18 cm tall
TOOL_HEIGHT = 0.10  # m above the table while going round
HAND_HALF_WIDTH, HAND_HALF_DEPTH = 0.10, 0.025  # m: the Franka Hand box, across / along x
MARKER_COLOURS = ("red", "blue")
SIDE_CLEARANCE = 0.03  # m between the hand and the block's side
SUCCESS_RADIUS = 0.02  # m


class Obstacle(Task):
    name = "obstacle"
    template = "reach the {colour} marker behind the wall"
    paraphrases = (
        "go around the wall to reach the {colour} marker",
        "move the gripper to the {colour} marker without hitting the wall",
    )
    objects = MappingProxyType({"marker": MARKER_COLOURS, "wall": ()})
    slot_objects = MappingProxyType({"colour": "marker"})
    cue_objects = ("wall",)
    dressing_slots = ("colour",)  # one marker, of a drawn colour
    time_limit_s = 12.0
    arm_only = True
    robots = ("panda",)

    def scene_objects(self) -> tuple[Fixture | Marker, ...]:
        wall = Fixture(
            "wall",
            "grey",
            boxes=(((0.0, 0.0, float(WALL_HALF[2])), tuple(float(h) for h in WALL_HALF)),),
            position=(float(WALL_CENTRE[0]), float(WALL_CENTRE[1]), TABLE_TOP_Z),
        )
        return (wall, Marker("marker", "red", "sphere", (0.015,)))

    def reset(
        self, sim: TaskScene, rng: np.random.Generator, slots: Mapping[str, str] | None = None
    ) -> TaskState:
        colour = self.chosen("colour", rng.choice(MARKER_COLOURS), slots)
        x_behind = WALL_CENTRE[0] + WALL_HALF[0] + HAND_HALF_DEPTH + 0.04
        target = np.array(
            [
                rng.uniform(x_behind, x_behind + 0.05),
                rng.uniform(-0.04, 0.04),
                TABLE_TOP_Z + TOOL_HEIGHT,
            ]
        )
        sim.place("marker", target)
        sim.recolour("marker", colour)
        side = str(rng.choice(["left", "right"]))
        return TaskState(
            slots={"colour": colour}, positions={"marker": target}, choices={"side": side}
        )

    def success(self, sim: TaskScene, state: TaskState) -> bool:
        distance = np.linalg.norm(sim.tool_position() - state.positions["marker"])
        return bool(distance < SUCCESS_RADIUS)

    def environment_state(self, sim: TaskScene, state: TaskState) -> np.ndarray:
        return np.concatenate([state.positions["marker"], [*WALL_CENTRE, TABLE_TOP_Z]])

    def mode(self, tool_path: np.ndarray) -> str | None:
        """ "left" (+y) or "right" by the tool's mean y while it is level with the block, or
        None if it never got there."""
        beside = np.abs(tool_path[:, 0] - WALL_CENTRE[0]) < WALL_HALF[0]
        if not beside.any():
            return None
        return "left" if tool_path[beside, 1].mean() > WALL_CENTRE[1] else "right"

    def expert(self, model: RigidBodyModel, q_start: np.ndarray, state: TaskState):
        spec = get_robot(model.description.name).spec
        limits = {"dq_max": spec.dq_max, "ddq_max": spec.ddq_max, "dddq_max": spec.dddq_max}
        target = state.positions["marker"]
        sign = 1.0 if state.choices["side"] == "left" else -1.0
        # the hand is 20 cm wide (across its fingers, along y) and 5 cm deep: go round in
        # straight legs, out to the side in front of the block, past it, then in behind it
        y = sign * (WALL_HALF[1] + HAND_HALF_WIDTH + SIDE_CLEARANCE)
        rotation = tool_down_rotation(model)
        z = TABLE_TOP_Z + TOOL_HEIGHT
        x_front = WALL_CENTRE[0] - WALL_HALF[0] - HAND_HALF_DEPTH - 0.04
        x_behind = WALL_CENTRE[0] + WALL_HALF[0] + HAND_HALF_DEPTH + 0.04
        q_above = solve(model, [x_front, y, z + 0.15], rotation, q_start, "above the side")
        over = WaypointReference("over", np.stack([q_start, q_above]), speed=0.4, **limits)
        legs = [
            ("down", [x_front, y, z]),
            ("past", [x_behind, y, z]),
            ("in", [x_behind, *target[1:]]),
            ("to the marker", target),
        ]
        parts, q = [over], q_above
        for name, point in legs:
            line = CartesianLine(name, model, q, np.asarray(point, float), duration=1.2)
            parts.append(line)
            q = line.q_end
        return ReferenceSequence(parts)
