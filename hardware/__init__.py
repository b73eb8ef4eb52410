"""Real-robot backends implementing `robostack.core.robot.Robot`: a Franka over FCI
(`robostack.hardware.franka`, pylibfranka) and a UR5 / UR5e over RTDE (`robostack.hardware.ur`,
ur_rtde), plus simulated stand-ins of both vendor libraries
(`robostack.hardware.rehearsal.standins`) so that the whole real-robot path runs without one. The
vendor libraries are imported only when a backend connects (extras ``franka`` and ``ur``)."""
