"""The `Task` interface: scene objects, seeded reset, success, description, scripted expert."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import mujoco
import numpy as np

from robostack.model import RigidBodyModel
from robostack.references import Reference
from sim.mujoco import MujocoRobot


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
    """A manipulation task on a simulated arm.

    Attributes:
        name: registry name.  template: description with ``{slot}`` fields.
        time_limit_s: an episode fails if not done by then, s.
        robots: robots the task (and its expert) is made for.
    """

    name: str
    template: str
    time_limit_s: float
    robots: tuple[str, ...] = ("panda", "ur5e")

    @abc.abstractmethod
    def decorate(self, spec: mujoco.MjSpec) -> None:
        """Add the task's objects to the scene (before compiling)."""

    @abc.abstractmethod
    def reset(self, sim: MujocoRobot, rng: np.random.Generator) -> TaskState:
        """Draw and place a new episode's objects; the arm is already at home."""

    @abc.abstractmethod
    def success(self, sim: MujocoRobot, state: TaskState) -> bool:
        """Whether the task is achieved in the current simulation state."""

    @abc.abstractmethod
    def environment_state(self, sim: MujocoRobot, state: TaskState) -> np.ndarray:
        """Task/object state for a policy, (n,) float: positions in m."""

    @abc.abstractmethod
    def expert(self, model: RigidBodyModel, q_home: np.ndarray, state: TaskState) -> Reference:
        """A scripted joint trajectory from ``q_home`` that achieves the task."""

    def description(self, state: TaskState) -> str:
        return self.template.format(**state.slots)

    def mode(self, tool_path: np.ndarray) -> str | None:
        """Which of the task's solution modes a tool path (T, 3) m took; None if the task has
        one way to be solved (or the path took none)."""
        return None


def tool_down_rotation(model: RigidBodyModel, q_home: np.ndarray, yaw: float = 0.0) -> np.ndarray:
    """The home tool orientation (pointing down at the table) turned by ``yaw`` rad about z."""
    _, rotation = model.tool_pose(q_home)
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ rotation


def solve(model: RigidBodyModel, position, rotation, q_near: np.ndarray, what: str) -> np.ndarray:
    """IK that must succeed (the task samples reachable poses only)."""
    result = model.inverse_kinematics(np.asarray(position, float), rotation, q_near)
    if not result.converged:
        raise RuntimeError(
            f"{what}: {np.round(position, 3)} unreachable ({result.position_error:.4f} m)"
        )
    return result.q
