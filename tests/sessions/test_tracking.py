"""Every controller tracks the built-in references on every robot.

Bounds (the whole sweep + circle, max over joints), with their reasons:
- computed torque: the controller's model is the simulator's model, so the error is what
  1 ms sampling leaves: RMS < 0.1 mrad, max < 0.5 mrad (measured ~0.01 / 0.04).
- PID and joint impedance: no inertia feed-forward, so the error is the torque needed to
  accelerate the arm over the stiffness: ddq_max/2 * M / K ~ 3.75 rad/s^2 * 0.8 kg m^2 /
  600 Nm/rad ~ 5 mrad on the Panda's shoulder. Bound: RMS < 3 mrad, max < 10 mrad
  (measured up to 1.7 / 5.8 mrad on the Panda, below 1 mrad on the URs).
"""

from __future__ import annotations

import numpy as np
import pytest

from robostack.controllers import CONTROLLER_NAMES
from robostack.sessions.tracking import TrackingOptions, run_tracking

BOUNDS_RAD = {  # controller: (rms, max)
    "computed_torque": (1e-4, 5e-4),
    "pid": (3e-3, 1e-2),
    "impedance": (3e-3, 1e-2),
}


@pytest.mark.parametrize("controller", CONTROLLER_NAMES)
def test_controller_tracks_the_built_in_references(robot_name, controller):
    report = run_tracking(TrackingOptions(robot=robot_name, controller=controller, record=False))
    rms_bound, max_bound = BOUNDS_RAD[controller]
    assert np.all(report.result.error_rms < rms_bound), report.result.error_rms
    assert np.all(report.result.error_max < max_bound), report.result.error_max
    # no safety check fired (no false alarms), and the arm went through the whole motion
    assert report.result.outcome == "completed" and report.result.events == []
    assert report.result.duration > 10.0
    assert np.abs(report.result.final_state.dq).max() < 1e-3
