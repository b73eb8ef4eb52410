"""Real-robot backends implementing `robostack.robot.Robot`: a Franka over FCI (`hardware.franka`,
pylibfranka) and a UR5 / UR5e over RTDE (`hardware.ur`, ur_rtde), plus simulated stand-ins of
both vendor libraries (`hardware.standins`) so that the whole real-robot path runs without one.
The vendor libraries are imported only when a backend connects (extras ``franka`` and ``ur``)."""
