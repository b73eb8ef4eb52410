"""Real-robot backends implementing `robostack.robot.Robot`: Franka over FCI (pylibfranka) and
UR5/UR5e over RTDE (ur_rtde). Not built yet; until they land, only simulated backends run."""
