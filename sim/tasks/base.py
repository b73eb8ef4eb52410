"""The `Task` interface: scene objects, seeded reset, success, description, scripted expert."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from robostack.controllers.references import Reference
from robostack.core.errors import RobostackError
from robostack.core.model import RigidBodyModel
from robostack.sim.scene import SceneObject, TaskScene


@dataclass
class TaskState:
    """One episode's draw: the slots of the description and where everything is (m).

    Attributes:
        slots: description slots, e.g. {"colour": "red", "target": "green"}.
        positions: named positions (3,) m in the base frame.
        choices: the expert's random choices, drawn with the episode (e.g. which way round).
    """

    slots: dict[str, str]
    positions: dict[str, np.ndarray] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)


class Task(abc.ABC):
    """A manipulation task on a simulated arm, in any simulator (`robostack.sim.scene`).

    Attributes:
        name: registry name.  template: description with ``{slot}`` fields.
        paraphrases: other ways to say the template (same slots); with it, what the language
            launcher compares a goal with.
        objects: the scene's objects a goal can name: kind -> the colours it comes in (empty:
            one uncoloured object, e.g. the bin).
        slot_objects: slot -> the object kind whose colour fills it.
        cue_objects: object kinds that set the task apart from a similar one (obstacle's wall
            from reach): a goal that names none of them fits the task less.
        dressing_slots: slots that colour the scene's only object of its kind rather than
            pick one of several (a goal may leave them out: the seed draws them).
        time_limit_s: an episode fails if not done by then, s.
        robots: robots the task (and its expert) is made for.
        arm_only: nothing in the scene moves but the arm (targets, walls): the scene can be a
            real robot's twin. Tasks that move objects need their state from perception.
    """

    name: str
    template: str
    paraphrases: ClassVar[tuple[str, ...]] = ()
    objects: ClassVar[Mapping[str, tuple[str, ...]]]
    slot_objects: ClassVar[Mapping[str, str]]
    cue_objects: ClassVar[tuple[str, ...]] = ()
    dressing_slots: ClassVar[tuple[str, ...]] = ()
    time_limit_s: float
    robots: tuple[str, ...] = ("panda", "ur5e")
    arm_only: ClassVar[bool] = False

    def slot_values(self, slot: str) -> tuple[str, ...]:
        """The values ``slot`` can take (the colours of its object kind)."""
        return self.objects[self.slot_objects[slot]]

    def check_slots(self, slots: Mapping[str, str]) -> None:
        """Raise `RobostackError` naming an unknown slot or a value the scene does not have."""
        for slot, value in slots.items():
            if slot not in self.slot_objects:
                raise RobostackError(
                    f"task {self.name!r} has no slot {slot!r}; its slots: "
                    f"{', '.join(self.slot_objects)}"
                )
            if value not in self.slot_values(slot):
                kind = self.slot_objects[slot]
                raise RobostackError(
                    f"the {self.name} scene has no {value} {kind}; its {kind}s are "
                    f"{', '.join(self.slot_values(slot))}"
                )

    def chosen(self, slot: str, drawn: str, requested: Mapping[str, str] | None) -> str:
        """The requested value of ``slot`` if one was asked for (checked), else the drawn one.
        Tasks draw every slot first, so a seed gives the same scene whether or not slots are
        requested."""
        if not requested or slot not in requested:
            return str(drawn)
        self.check_slots({slot: requested[slot]})
        return requested[slot]

    @abc.abstractmethod
    def scene_objects(self) -> tuple[SceneObject, ...]:
        """The task's objects, which the simulator builds around the arm and its table."""

    @abc.abstractmethod
    def reset(
        self, sim: TaskScene, rng: np.random.Generator, slots: Mapping[str, str] | None = None
    ) -> TaskState:
        """Draw and place a new episode's objects; the arm is already at its start. ``slots`` fixes
        some of the description's slots (e.g. {"colour": "blue"}) instead of drawing them."""

    @abc.abstractmethod
    def success(self, sim: TaskScene, state: TaskState) -> bool:
        """Whether the task is achieved in the current simulation state."""

    @abc.abstractmethod
    def environment_state(self, sim: TaskScene, state: TaskState) -> np.ndarray:
        """Task/object state for a policy, (n,) float: positions in m."""

    @abc.abstractmethod
    def expert(self, model: RigidBodyModel, q_start: np.ndarray, state: TaskState) -> Reference:
        """A scripted joint trajectory from ``q_start`` that achieves the task."""

    def description(self, state: TaskState) -> str:
        return self.template.format(**state.slots)

    def mode(self, tool_path: np.ndarray) -> str | None:
        """Which of the task's solution modes a tool path (T, 3) m took; None if the task has
        one way to be solved (or the path took none)."""
        return None


IK_RETRY_STEP = 0.1


def tool_down_rotation(model: RigidBodyModel) -> np.ndarray:
    """(3, 3) the tool orientation at the robot's home, pointing down at the table: every
    expert ends its moves in it, wherever the arm starts."""
    return model.tool_pose(model.description.q_home)[1]


def solve(model: RigidBodyModel, position, rotation, q_near: np.ndarray, what: str) -> np.ndarray:
    """IK that must succeed (the task samples reachable poses only): from ``q_near``, and when
    that leaps into a local minimum, again in steps of at most `IK_RETRY_STEP` rad."""
    position = np.asarray(position, float)
    result = model.inverse_kinematics(position, rotation, q_near)
    if not result.converged:
        result = model.inverse_kinematics(position, rotation, q_near, max_step=IK_RETRY_STEP)
    if not result.converged:
        raise RuntimeError(
            f"{what}: {np.round(position, 3)} unreachable ({result.position_error:.4f} m)"
        )
    return result.q
