"""reach: bring the tool to the marker of the named colour (another one is a distractor)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from robostack.controllers.references import ReferenceSequence, WaypointReference
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.sim.scene import Marker, TaskScene
from robostack.sim.tasks.base import Task, TaskState, solve, tool_down_rotation

MARKER_COLOURS = ("red", "blue")
SUCCESS_RADIUS = 0.02  # m
MARKER_RADIUS = 0.03  # m: about 5 px across in the front camera's 96 px view


class Reach(Task):
    name = "reach"
    template = "reach the {colour} marker"
    paraphrases = (
        "move the gripper to the {colour} marker",
        "touch the {colour} marker with the tool",
    )
    objects = MappingProxyType({"marker": MARKER_COLOURS})
    slot_objects = MappingProxyType({"colour": "marker"})
    time_limit_s = 8.0
    arm_only = True

    def scene_objects(self) -> tuple[Marker, ...]:
        return tuple(Marker(f"marker_{c}", c, "sphere", (MARKER_RADIUS,)) for c in MARKER_COLOURS)

    def reset(
        self, sim: TaskScene, rng: np.random.Generator, slots: Mapping[str, str] | None = None
    ) -> TaskState:
        colour = self.chosen("colour", rng.choice(MARKER_COLOURS), slots)
        positions = {}
        while True:  # two markers at least 15 cm apart
            points = [
                np.array([rng.uniform(0.35, 0.6), rng.uniform(-0.25, 0.25), rng.uniform(0.1, 0.4)])
                for _ in MARKER_COLOURS
            ]
            if np.linalg.norm(points[0] - points[1]) > 0.15:
                break
        for c, point in zip(MARKER_COLOURS, points, strict=True):
            sim.place(f"marker_{c}", point)
            positions[f"marker_{c}"] = point
        return TaskState(slots={"colour": colour}, positions=positions)

    def _target(self, state: TaskState) -> np.ndarray:
        return state.positions[f"marker_{state.slots['colour']}"]

    def success(self, sim: TaskScene, state: TaskState) -> bool:
        return bool(np.linalg.norm(sim.tool_position() - self._target(state)) < SUCCESS_RADIUS)

    def environment_state(self, sim: TaskScene, state: TaskState) -> np.ndarray:
        """The named marker's position, then the other's (6,), m: the goal comes first, as
        push and pick_place list their named cube first."""
        other = next(c for c in MARKER_COLOURS if c != state.slots["colour"])
        return np.concatenate([self._target(state), state.positions[f"marker_{other}"]])

    def expert(self, model: RigidBodyModel, q_start: np.ndarray, state: TaskState):
        spec = get_robot(model.description.name).spec
        rotation = tool_down_rotation(model)
        q_goal = solve(model, self._target(state), rotation, q_start, "reach target")
        move = WaypointReference(
            "reach",
            np.stack([q_start, q_goal]),
            dq_max=spec.dq_max,
            ddq_max=spec.ddq_max,
            dddq_max=spec.dddq_max,
            speed=0.4,
        )
        return ReferenceSequence([move])
