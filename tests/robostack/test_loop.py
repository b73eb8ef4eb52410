"""The control loop under both clocks."""

from __future__ import annotations

import numpy as np
import pytest

from robostack.errors import LimitError
from robostack.loop import ControlLoop, LockstepClock, WallClock
from robostack.tracking import TrackingOptions, run_tracking, tracking_session
from robostack.types import TrajectoryChunk


def test_lockstep_runs_are_bit_identical_for_the_same_seed():
    options = TrackingOptions(
        robot="panda", controller="pid", reference="circle", seed=11, record=False
    )
    a, b = run_tracking(options).result, run_tracking(options).result
    assert np.array_equal(a.final_state.q, b.final_state.q)
    assert np.array_equal(a.final_state.dq, b.final_state.dq)
    assert np.array_equal(a.error_rms, b.error_rms) and np.array_equal(a.error_max, b.error_max)


def test_wall_clock_paces_ticks_at_one_kilohertz():
    options = TrackingOptions(
        robot="ur5e", controller="impedance", reference="sweep", realtime=True, record=False
    )
    with tracking_session(options) as session:
        result = session.loop.run(ticks=300)
    periods_ms = result.period_ns[1:] / 1e6
    assert np.median(periods_ms) == pytest.approx(1.0, abs=0.05)
    assert result.duration == pytest.approx(0.3, abs=1e-9)  # 300 physics steps of 1 ms
    assert result.overruns <= 30  # a loaded CI machine may miss some; most ticks keep time


def test_wall_clock_skips_missed_periods_instead_of_bursting():
    clock = WallClock(1e-3)
    clock.start()
    clock.wait_next()
    clock._deadline -= 5_000_000  # pretend the last tick took 5 ms
    lateness = clock.wait_next()
    assert lateness >= 4_000_000
    before = clock._deadline
    clock.wait_next()  # the next deadline is in the future again: it waits
    assert clock._deadline == before + clock.period_ns


class _OneChunk:
    def __init__(self, q):
        self.q = q

    def next_chunk(self, state):
        return TrajectoryChunk(t0=state.t, dt=0.1, q=self.q, obs_time=state.t)


def test_a_first_chunk_outside_the_limits_is_refused_before_anything_moves():
    options = TrackingOptions(
        robot="panda", controller="impedance", reference="circle", record=False
    )
    with tracking_session(options) as session:
        robot = session.robot
        q = np.tile(robot.read().q, (16, 1))
        q[10, 1] = 1.9  # panda_joint2 stops at 1.7628
        session.loop.source = _OneChunk(q)
        start = robot.read()
        with pytest.raises(LimitError, match=r"chunk for joint panda_joint2 is 1\.9000 rad"):
            session.loop.run(ticks=10)
        assert robot.read().t == start.t  # no physics step was taken


def test_loop_refuses_nonsense_settings():
    with pytest.raises(ValueError, match="chunk_period_ticks"):
        ControlLoop(
            robot=None,
            controller=None,
            source=None,
            clock=LockstepClock(),
            safety=None,
            interpolator=None,
            chunk_period_ticks=0,
        )
