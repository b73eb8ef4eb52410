"""Simulation: the scene a task declares (`sim.scene`), its tasks and scripted experts
(`sim.tasks`), and the simulators that run them behind `robostack.robot.SimRobot`: MuJoCo
(`sim.mujoco`) and PyBullet (`sim.pybullet`), built from the same URDFs."""

from __future__ import annotations

from robostack.errors import UnknownNameError
from robostack.robot import SimRobot
from robostack.robots import RobotDescription
from sim.scene import SceneObject

SIMULATORS = ("mujoco", "pybullet")


def make_simulation(
    simulator: str, *, robot: str | RobotDescription, objects: tuple[SceneObject, ...] = ()
) -> SimRobot:
    """An unconnected simulated ``robot`` on its table with a task's ``objects``, in
    ``simulator`` (one of `SIMULATORS`; imported only when chosen)."""
    if simulator == "mujoco":
        from sim.mujoco import MujocoRobot, SceneConfig

        return MujocoRobot(robot=robot, scene=SceneConfig(objects=objects))
    if simulator == "pybullet":
        from sim.pybullet import PybulletRobot

        return PybulletRobot(robot=robot, objects=objects)
    raise UnknownNameError("simulator", simulator, SIMULATORS)
