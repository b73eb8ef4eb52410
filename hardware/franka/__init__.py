"""Franka arm (Panda / FR3 with the Franka Hand) over FCI through pylibfranka."""

from robostack.hardware.franka.config import FrankaConfig
from robostack.hardware.franka.robot import FrankaModel, FrankaRobot

__all__ = ["FrankaConfig", "FrankaModel", "FrankaRobot"]
