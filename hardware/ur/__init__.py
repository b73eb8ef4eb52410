"""Universal Robots UR5 (CB3) and UR5e (e-Series) over RTDE through ur_rtde."""

from robostack.hardware.ur.config import URConfig
from robostack.hardware.ur.robot import URRobot

__all__ = ["URConfig", "URRobot"]
