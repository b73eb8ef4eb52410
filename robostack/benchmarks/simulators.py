"""MuJoCo and PyBullet side by side: the same arm, reference and controller in both, in one run.

- Gravity: g(q) from PyBullet's inverse dynamics of the URDF against the stack's MuJoCo model
  (`robostack.core.model.RigidBodyModel.gravity`, the counterpart of MuJoCo's gravcomp) at random
  configurations inside the joint limits; the error is |g_pb - g_mj| / |g_mj| per
  configuration (norms over the joints).
- Tracking: `robostack track`'s built-in references (joint sweep, then an IK circle), lockstep,
  per controller, in each simulator: RMS and max joint error, outcome and safety events, and
  the median physics step and tick (their ratio is what PyBullet costs against MuJoCo).
"""

from __future__ import annotations

import numpy as np

from robostack.core.model import RigidBodyModel
from robostack.core.robots import get_robot
from robostack.sessions.tracking import TrackingOptions, run_tracking
from robostack.sim import SIMULATORS


def gravity_agreement(robot: str, *, samples: int = 200, seed: int = 0) -> dict:
    """Relative gravity-torque disagreement of PyBullet with MuJoCo (module doc): max, median."""
    from robostack.sim.pybullet import PybulletRobot

    description = get_robot(robot)
    model = RigidBodyModel(description)
    spec = description.spec
    configurations = np.random.default_rng(seed).uniform(
        spec.q_min, spec.q_max, (samples, spec.dof)
    )
    with PybulletRobot(robot=robot) as pybullet:
        errors = [
            np.linalg.norm(pybullet.gravity(q) - model.gravity(q))
            / np.linalg.norm(model.gravity(q))
            for q in configurations
        ]
    return {
        "robot": robot,
        "samples": samples,
        "max": float(max(errors)),
        "median": float(np.median(errors)),
    }


def tracking_in_both(robot: str, controller: str, reference: str = "all") -> dict:
    """The same tracking run in every simulator (module doc)."""
    runs = {}
    for simulator in SIMULATORS:
        options = TrackingOptions(
            robot=robot, backend=simulator, controller=controller, reference=reference, record=False
        )
        report = run_tracking(options)
        r = report.result
        runs[simulator] = {
            "outcome": r.outcome,
            "rms_error_rad": float(r.error_rms.max()),
            "max_error_rad": float(r.error_max.max()),
            "events": [e.check for e in r.events],
            "physics_us_median": float(np.median(r.physics_ns) / 1e3),
            "tick_us_median": float(np.median(r.compute_ns) / 1e3),
        }
    return {"robot": robot, "controller": controller, "reference": reference, **runs}
