"""Rehearsal without a robot: simulated stand-ins of the vendor client libraries
(`standins`: pylibfranka and ur_rtde in one process) and virtual controllers that speak the
vendors' own protocols to the unmodified clients (`virtual`: FCI and RTDE servers). Both
simulate the arm in MuJoCo. Nothing here is used by a real robot's session."""
