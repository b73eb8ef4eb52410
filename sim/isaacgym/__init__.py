"""Isaac Gym, behind a bridge process that runs in Isaac Gym's own Python (`bridge.py`) and an
`IsaacGymRobot` that talks to it over LCM."""

from robostack.sim.isaacgym.robot import IsaacGymRobot

__all__ = ["IsaacGymRobot"]
