"""Virtual robot controllers: a MuJoCo arm behind the vendors' real wire protocols.

`hardware.virtual.ur_controller` serves what ur_rtde speaks (RTDE on 30004, the dashboard on
29999, the script port 30003); `hardware.virtual.franka_controller` serves FCI as pylibfranka
speaks it (commands on TCP 1337, the 1 kHz state / command exchange over UDP). The unmodified
vendor clients connect on a loopback address and drive the simulated arm
(`hardware.virtual.arm`) as they would a real controller; `hardware.virtual.process` runs one
in its own process, `hardware.virtual.server` holds the listeners and the fault-injection port.
"""
