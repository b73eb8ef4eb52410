"""Built-in references: inside the limits, clear of the table, refused when out of limits."""

from __future__ import annotations

import numpy as np
import pytest

from robostack.controllers.references import (
    WaypointReference,
    builtin_reference,
    check_reference,
    joint_sweep,
)
from robostack.core.errors import LimitError
from robostack.core.robots import get_robot
from robostack.sessions.tracking import TrackingOptions, tracking_session
from tests.conftest import model_of


def test_sweep_covers_most_of_each_joints_range(robot_name):
    description = get_robot(robot_name)
    spec = description.spec
    sweep = joint_sweep(description)
    t = np.linspace(0, sweep.duration, 2000)
    q = sweep.positions(t)
    swept = q.max(axis=0) - q.min(axis=0)
    if robot_name == "panda":  # 80% of every joint's range
        assert np.all(swept >= 0.79 * (spec.q_max - spec.q_min))
    else:  # UR: +-360 deg joints; the sweep spans at least 1.4 rad on every joint
        assert np.all(swept >= 1.4 - 1e-9)


def test_sweep_respects_speed_and_acceleration_limits(robot_name):
    description = get_robot(robot_name)
    sweep = joint_sweep(description, speed=0.5)
    dt = 1e-3
    q = sweep.positions(np.arange(0, sweep.duration, dt))
    dq = np.diff(q, axis=0) / dt
    ddq = np.diff(dq, axis=0) / dt
    assert np.all(np.abs(dq).max(axis=0) <= 0.5 * description.spec.dq_max + 1e-3)
    assert np.all(np.abs(ddq).max(axis=0) <= 0.5 * description.spec.ddq_max + 1e-2)


def test_references_start_and_end_at_home_at_rest(robot_name):
    description = get_robot(robot_name)
    reference = builtin_reference("all", description, model_of(robot_name))
    ends = reference.positions(np.array([0.0, 1e-3, reference.duration - 1e-3, reference.duration]))
    assert np.allclose(ends, description.q_home, atol=1e-4)  # IK tolerance 1e-5 m


def test_built_in_references_stay_clear_of_the_table(robot_name):
    """Simulate the whole reference and watch every tick for a contact."""
    with tracking_session(TrackingOptions(robot=robot_name, record=False)) as session:
        sim = session.robot
        touched = set()
        step = sim.write

        def write_and_watch(command):
            step(command)
            if sim.data.ncon:
                touched.update(sim.contacts())

        sim.write = write_and_watch
        session.loop.run(ticks=session.ticks)
    assert touched == set()


def test_reference_outside_joint_limits_is_refused():
    description = get_robot("panda")
    bad = description.q_home.copy()
    bad[0] = 3.0  # panda_joint1 stops at 2.8973
    reference = WaypointReference(
        "bad",
        np.stack([description.q_home, bad]),
        dq_max=description.spec.dq_max,
        ddq_max=description.spec.ddq_max,
        speed=0.5,
    )
    # the first 100 Hz sample past the limit is reported
    with pytest.raises(
        LimitError, match=r"joint panda_joint1 is 2\.9\d* rad, above the upper limit 2\.8973"
    ):
        check_reference(reference, description)
