"""Virtual robot controllers: a MuJoCo arm behind the vendors' real wire protocols.

`hardware.virtual.ur_controller` serves what ur_rtde speaks (RTDE on 30004, the dashboard on
29999, the script port 30003); the unmodified vendor client connects to it on a loopback address
and drives the simulated arm (`hardware.virtual.arm`) as it would a real controller.
"""
