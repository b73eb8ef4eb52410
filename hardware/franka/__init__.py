"""Franka arm (Panda / FR3 with the Franka Hand) over FCI through pylibfranka."""

from hardware.franka.config import FrankaConfig
from hardware.franka.robot import FrankaModel, FrankaRobot

__all__ = ["FrankaConfig", "FrankaModel", "FrankaRobot"]
