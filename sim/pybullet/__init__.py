"""PyBullet backend: the same URDFs, table and task objects as `robostack.sim.mujoco`,
torque-controlled at 1 kHz (`PybulletRobot`)."""

from robostack.sim.pybullet.robot import PybulletRobot

__all__ = ["PybulletRobot"]
