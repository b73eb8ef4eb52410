"""Simulation backends implementing `robostack.robot.Robot`: MuJoCo (`sim.mujoco`); PyBullet and
the Isaac Gym bridge follow. Tasks and scripted experts will live here too."""
