"""MuJoCo backend: scene construction from the project's URDFs and the `MujocoRobot`."""

from robostack.sim.mujoco.robot import MujocoRobot
from robostack.sim.mujoco.scene import SceneConfig, build_scene

__all__ = ["MujocoRobot", "SceneConfig", "build_scene"]
