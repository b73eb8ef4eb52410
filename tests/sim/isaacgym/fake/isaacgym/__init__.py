"""A stand-in for NVIDIA's isaacgym package, for the bridge's tests: the subset of gymapi and
gymtorch the bridge uses, with the signatures of isaacgym-stubs (the published Preview 4 API,
checked by tests/sim/isaacgym/test_bridge.py) and a crude physics: each DOF a unit inertia
plus its armature, effort-driven or a PD position servo, integrated with the step. Every call
is logged (as JSON lines) to the file named by $FAKE_ISAACGYM_LOG. Like the real package, it
refuses to be imported after torch."""

import sys

if "torch" in sys.modules:
    raise ImportError("PyTorch was imported before isaacgym modules (as Isaac Gym says)")
