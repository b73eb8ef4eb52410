"""Manipulation tasks on the MuJoCo arms, each with a scripted expert
(`robostack.sim.tasks.base.Task`)."""

from __future__ import annotations

from robostack.core.errors import UnknownNameError
from robostack.sim.tasks.base import Task, TaskState
from robostack.sim.tasks.obstacle import Obstacle
from robostack.sim.tasks.pick_place import PickPlace
from robostack.sim.tasks.push import Push
from robostack.sim.tasks.reach import Reach

TASKS: dict[str, type[Task]] = {
    "reach": Reach,
    "push": Push,
    "pick_place": PickPlace,
    "obstacle": Obstacle,
}

ARM_ONLY_TASKS = tuple(name for name, task in TASKS.items() if task.arm_only)


def make_task(name: str) -> Task:
    """The task registered as ``name``; unknown names list the known ones."""
    try:
        return TASKS[name]()
    except KeyError:
        raise UnknownNameError("task", name, TASKS) from None


__all__ = ["ARM_ONLY_TASKS", "TASKS", "Task", "TaskState", "make_task"]
