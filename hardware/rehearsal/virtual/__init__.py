"""Virtual robot controllers: a MuJoCo arm behind the vendors' real wire protocols.

`robostack.hardware.rehearsal.virtual.ur_controller` serves what ur_rtde speaks (RTDE on 30004, the
dashboard on 29999, the script port 30003); `robostack.hardware.rehearsal.virtual.franka_controller`
serves FCI as pylibfranka speaks it (commands on TCP 1337, the 1 kHz state / command exchange over
UDP). The unmodified vendor clients connect on a loopback address and drive the simulated arm
(`robostack.hardware.rehearsal.virtual.arm`) as they would a real controller;
`robostack.hardware.rehearsal.virtual.process` runs one in its own process,
`robostack.hardware.rehearsal.virtual.server` holds the listeners and the fault-injection port.
"""
