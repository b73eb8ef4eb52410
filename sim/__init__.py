"""Simulation: the scene a task declares (`robostack.sim.scene`), its tasks and scripted experts
(`robostack.sim.tasks`), and the simulators that run them behind `robostack.core.robot.SimRobot`:
MuJoCo (`robostack.sim.mujoco`) and PyBullet (`robostack.sim.pybullet`), built from the same
URDFs."""

from __future__ import annotations

from robostack.core.errors import UnknownNameError
from robostack.core.robot import SimRobot
from robostack.core.robots import RobotDescription
from robostack.sim.cameras import Camera
from robostack.sim.scene import SceneObject

SIMULATORS = ("mujoco", "pybullet")


def make_simulation(
    simulator: str,
    *,
    robot: str | RobotDescription,
    objects: tuple[SceneObject, ...] = (),
    cameras: tuple[Camera, ...] = (),
) -> SimRobot:
    """An unconnected simulated ``robot`` on its table with a task's ``objects`` and
    ``cameras``, in ``simulator`` (one of `SIMULATORS`; imported only when chosen)."""
    if simulator == "mujoco":
        from robostack.sim.mujoco import MujocoRobot, SceneConfig

        return MujocoRobot(robot=robot, scene=SceneConfig(objects=objects, cameras=cameras))
    if simulator == "pybullet":
        from robostack.sim.pybullet import PybulletRobot

        return PybulletRobot(robot=robot, objects=objects, cameras=cameras)
    raise UnknownNameError("simulator", simulator, SIMULATORS)
