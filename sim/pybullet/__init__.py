"""PyBullet backend: the same URDFs, table and task objects as `sim.mujoco`, torque-controlled
at 1 kHz (`PybulletRobot`)."""

from sim.pybullet.robot import PybulletRobot

__all__ = ["PybulletRobot"]
