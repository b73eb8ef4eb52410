"""Universal Robots UR5 (CB3) and UR5e (e-Series) over RTDE through ur_rtde."""

from hardware.ur.config import URConfig
from hardware.ur.robot import URRobot

__all__ = ["URConfig", "URRobot"]
