"""Rehearsal without a robot: simulated stand-ins of the vendor client libraries
(`standins`: pylibfranka and ur_rtde in one process) and virtual controllers that speak the
vendors' own protocols to the unmodified clients (`virtual`: FCI and RTDE servers). Both drive
the same simulated arm (`virtual.arm.VirtualArm`, MuJoCo) through the same model of each
vendor's controller (`virtual.franka_motion.FrankaMotion`, `virtual.ur_motion.URMotion`), so a
controller behaviour is written once. Nothing here is used by a real robot's session."""
