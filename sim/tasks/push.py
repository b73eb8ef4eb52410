"""push: push the cube of the named colour onto the square of the named colour.

Two cubes and two target squares lie on the table; the other cube and square are placed away
from the push path. The expert comes down behind the cube with the closed fingers, pushes along
a straight line until the cube's centre is over the square's, and backs away. The hand keeps
its home orientation whatever the push direction: turning the finger line across the push
needs a wrist yaw defined modulo pi, which jumps by pi between nearby scenes (pushes either side
of +-y), and a policy trained on such demonstrations blends the two answers into a wrong angle.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from robostack.controllers.references import CartesianLine, ReferenceSequence, WaypointReference
from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.sim.scene import CUBE_HALF, TABLE_TOP_Z, Cube, Marker, TaskScene
from robostack.sim.tasks.base import Task, TaskState, solve, tool_down_rotation

CUBE_COLOURS = ("red", "blue")
SQUARE_COLOURS = ("green", "yellow")
SQUARE_HALF = 0.04  # m: success when the cube's centre is over the square
PUSH_DISTANCE = (0.12, 0.18)  # m
TOOL_CLEARANCE = 0.03  # m between the fingers and the cube before the push
FINGERS_HALF = (0.010, 0.015)  # m: half the closed fingers' extent along the hand's x and y
# m behind the cube's centre: the push start the sampler keeps reachable (x >= 0.3); the
# expert's own start lies 0.065-0.070 m behind, by the fingers' extent along the push
START_BEHIND = 0.067
PUSH_HEIGHT = CUBE_HALF  # tool height above the table while pushing, m
ABOVE = 0.12  # m: approach height above the table


def _segment_distance(point, a, b) -> float:
    ab = b - a
    s = np.clip(np.dot(point - a, ab) / np.dot(ab, ab), 0.0, 1.0)
    return float(np.linalg.norm(point - (a + s * ab)))


class Push(Task):
    name = "push"
    template = "push the {colour} cube onto the {target} square"
    paraphrases = (
        "slide the {colour} cube along the table onto the {target} square",
        "move the {colour} cube onto the {target} square by pushing it",
    )
    objects = MappingProxyType({"cube": CUBE_COLOURS, "square": SQUARE_COLOURS})
    slot_objects = MappingProxyType({"colour": "cube", "target": "square"})
    time_limit_s = 15.0
    robots = (
        "panda",
    )  # the UR flange has no flat pushing face; its pushes hit the collision check

    def scene_objects(self) -> tuple[Cube | Marker, ...]:
        cubes = tuple(Cube(f"cube_{c}", c) for c in CUBE_COLOURS)
        size = (SQUARE_HALF, SQUARE_HALF, 0.001)
        return cubes + tuple(Marker(f"square_{c}", c, "box", size) for c in SQUARE_COLOURS)

    def reset(
        self, sim: TaskScene, rng: np.random.Generator, slots: Mapping[str, str] | None = None
    ) -> TaskState:
        colour = self.chosen("colour", rng.permutation(CUBE_COLOURS)[0], slots)
        target = self.chosen("target", rng.permutation(SQUARE_COLOURS)[0], slots)
        other = next(c for c in CUBE_COLOURS if c != colour)
        other_square = next(c for c in SQUARE_COLOURS if c != target)
        while True:
            cube = np.array([rng.uniform(0.42, 0.58), rng.uniform(-0.12, 0.12)])
            angle = rng.uniform(-np.pi, np.pi)
            direction = np.array([np.cos(angle), np.sin(angle)])
            goal = cube + rng.uniform(*PUSH_DISTANCE) * direction
            start = cube - START_BEHIND * direction
            if not (0.35 <= goal[0] <= 0.65 and abs(goal[1]) <= 0.22 and start[0] >= 0.3):
                continue
            others = [rng.uniform([0.35, -0.25], [0.65, 0.25]) for _ in range(2)]
            clear = all(_segment_distance(p, start, goal) > 0.12 for p in others)
            if clear and np.linalg.norm(others[0] - others[1]) > 0.1:
                break
        on_table, z = TABLE_TOP_Z + CUBE_HALF, TABLE_TOP_Z + 0.001
        sim.place(f"cube_{colour}", np.array([*cube, on_table]))
        sim.place(f"cube_{other}", np.array([*others[0], on_table]))
        sim.place(f"square_{target}", np.array([*goal, z]))
        sim.place(f"square_{other_square}", np.array([*others[1], z]))
        return TaskState(
            slots={"colour": str(colour), "target": str(target)},
            positions={
                "cube": np.array([*cube, TABLE_TOP_Z + CUBE_HALF]),
                "goal": np.array([*goal, z]),
                "other_cube": np.array([*others[0], TABLE_TOP_Z + CUBE_HALF]),
                "other_square": np.array([*others[1], z]),
            },
        )

    def success(self, sim: TaskScene, state: TaskState) -> bool:
        cube = sim.position(f"cube_{state.slots['colour']}")
        offset = np.abs(cube[:2] - state.positions["goal"][:2])
        on_table = abs(cube[2] - (TABLE_TOP_Z + CUBE_HALF)) < 0.01
        return bool(np.all(offset < SQUARE_HALF) and on_table)

    def environment_state(self, sim: TaskScene, state: TaskState) -> np.ndarray:
        other = next(c for c in CUBE_COLOURS if c != state.slots["colour"])
        return np.concatenate(
            [
                sim.position(f"cube_{state.slots['colour']}"),
                state.positions["goal"],
                sim.position(f"cube_{other}"),
            ]
        )

    def expert(self, model: RigidBodyModel, q_start: np.ndarray, state: TaskState):
        spec = get_robot(model.description.name).spec
        cube, goal = state.positions["cube"][:2], state.positions["goal"][:2]
        direction = (goal - cube) / np.linalg.norm(goal - cube)
        rotation = tool_down_rotation(model)
        fingers = float(np.abs(direction @ rotation[:2, :2]) @ FINGERS_HALF)  # along the push
        start = cube - (CUBE_HALF + fingers + TOOL_CLEARANCE) * direction
        end = goal - (CUBE_HALF + fingers) * direction
        low = TABLE_TOP_Z + PUSH_HEIGHT
        q_above = solve(model, [*start, TABLE_TOP_Z + ABOVE], rotation, q_start, "above the cube")
        q_down = solve(model, [*start, low], rotation, q_above, "behind the cube")
        limits = {"dq_max": spec.dq_max, "ddq_max": spec.ddq_max, "dddq_max": spec.dddq_max}
        approach = WaypointReference(
            "approach", np.stack([q_start, q_above, q_down]), speed=0.4, **limits
        )
        push = CartesianLine(
            "push",
            model,
            q_down,
            np.array([*end, low]),
            duration=np.linalg.norm(end - start) / 0.08,  # ~8 cm/s
        )
        q_back = solve(
            model, [*(end - 0.03 * direction), TABLE_TOP_Z + ABOVE], rotation, push.q_end, "back up"
        )
        retreat = WaypointReference("retreat", np.stack([push.q_end, q_back]), speed=0.4, **limits)
        sequence = ReferenceSequence([approach, push, retreat])
        for part in sequence.parts:  # fingers closed: a flat 3 cm pushing face
            part.gripper_width = 0.0
        return sequence
