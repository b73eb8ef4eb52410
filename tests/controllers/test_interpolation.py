"""The chunk interpolator: C2 reference, smooth blends at chunk switches, rest at the end."""

from __future__ import annotations

import numpy as np
import pytest

from robostack.controllers.interpolation import CHUNK_BUDGET, ChunkInterpolator, slowed_to_limits
from robostack.core.types import TrajectoryChunk

DT = 1e-3


def _chunk(t0, q0, velocity, horizon=16, dt=0.1):
    times = np.arange(horizon)[:, None] * dt
    return TrajectoryChunk(t0=t0, dt=dt, q=q0 + velocity * times + 0.3 * np.sin(times * 2))


def _sample(interp, t0, t1, dt=DT):
    times = np.arange(round((t1 - t0) / dt)) * dt + t0
    refs = [interp.sample(t) for t in times]
    return (
        times,
        np.array([r.q for r in refs]),
        np.array([r.dq for r in refs]),
        np.array([r.ddq for r in refs]),
    )


def test_reference_passes_through_the_waypoints_after_the_blend():
    interp = ChunkInterpolator(blend_time=0.1)
    chunk = _chunk(0.0, np.zeros(3), np.array([0.5, -0.2, 0.1]))
    interp.reset(chunk.q[0])
    interp.add_chunk(chunk, 0.0)
    for i in range(2, chunk.horizon):
        assert np.allclose(interp.sample(i * chunk.dt).q, chunk.q[i], atol=1e-12)


def _switch(blend_time, dt=DT):
    """Sample 0.7..0.9 s around a switch at 0.8 s to a second plan 5 cm off, other velocities."""
    interp = ChunkInterpolator(blend_time=blend_time)
    first = _chunk(0.0, np.zeros(3), np.array([0.5, -0.2, 0.1]))
    interp.reset(first.q[0])
    interp.add_chunk(first, 0.0)
    _, q_a, dq_a, ddq_a = _sample(interp, 0.7, 0.8, dt)
    interp.add_chunk(_chunk(0.8, first.q[8] + 0.05, np.array([-0.3, 0.4, 0.0])), 0.8)
    _, q_b, dq_b, ddq_b = _sample(interp, 0.8, 0.95, dt)
    return [np.vstack(pair) for pair in ((q_a, q_b), (dq_a, dq_b), (ddq_a, ddq_b))]


def _largest_steps(blend_time, dt):
    return np.array([np.abs(np.diff(x, axis=0)).max() for x in _switch(blend_time, dt)])


def test_no_jump_in_position_velocity_or_acceleration_across_a_switch():
    """Continuity test by refinement: sampled 4x finer, the largest per-sample change of a
    continuous q, dq or ddq shrinks about 4x; across a jump it stays the size of the jump.
    The naive switch (a blend shorter than one sample) shows the jumps the blend removes."""
    coarse, fine = _largest_steps(0.1, DT), _largest_steps(0.1, DT / 4)
    assert np.all(fine < coarse / 3)
    naive_coarse, naive_fine = _largest_steps(DT / 8, DT), _largest_steps(DT / 8, DT / 4)
    assert naive_fine[0] > 0.04 and naive_fine[1] > 0.5  # 5 cm and ~0.8 rad/s jumps
    assert np.all(naive_fine[:2] > naive_coarse[:2] / 1.5)
    q, dq, _ = _switch(0.1)
    # the velocity is the derivative of the position (the reference is self-consistent)
    assert np.allclose(np.diff(q, axis=0) / DT, 0.5 * (dq[1:] + dq[:-1]), atol=1e-3)


def test_blend_starts_from_the_current_reference_exactly():
    interp = ChunkInterpolator(blend_time=0.1)
    first = _chunk(0.0, np.zeros(2), np.array([1.0, 0.5]))
    interp.reset(first.q[0])
    interp.add_chunk(first, 0.0)
    before = interp.sample(0.5)
    interp.add_chunk(_chunk(0.5, np.ones(2), np.zeros(2)), 0.5)
    after = interp.sample(0.5)
    for a, b in ((before.q, after.q), (before.dq, after.dq), (before.ddq, after.ddq)):
        assert np.array_equal(a, b)


def test_chunk_ends_at_rest_and_holds():
    interp = ChunkInterpolator()
    chunk = _chunk(0.0, np.zeros(2), np.array([1.0, -1.0]))
    interp.reset(chunk.q[0])
    interp.add_chunk(chunk, 0.0)
    end = interp.sample(chunk.t_end + 5.0)
    assert np.allclose(end.q, chunk.q[-1]) and not end.dq.any() and not end.ddq.any()
    just_before = interp.sample(chunk.t_end - DT)
    assert np.abs(just_before.dq).max() < 0.05 and np.allclose(
        just_before.q, chunk.q[-1], atol=1e-4
    )


def test_hold_stops_smoothly_within_the_acceleration_limit():
    interp = ChunkInterpolator(blend_time=0.1)
    chunk = _chunk(0.0, np.zeros(2), np.array([1.0, 1.0]))
    interp.reset(chunk.q[0])
    interp.add_chunk(chunk, 0.0)
    moving = interp.sample(0.5)
    assert np.abs(moving.dq).min() > 0.5
    ddq_max = np.array([10.0, 10.0])
    interp.hold(0.5, ddq_max=ddq_max)
    _, q, dq, ddq = _sample(interp, 0.5, 1.5)
    assert np.all(np.abs(ddq) <= ddq_max)
    assert np.abs(np.diff(dq, axis=0)).max() <= 10.0 * DT
    assert np.allclose(dq[-1], 0.0) and np.allclose(q[-1], q[-2])


def test_misuse_is_refused():
    with pytest.raises(ValueError, match="blend_time"):
        ChunkInterpolator(blend_time=0.0)
    with pytest.raises(RuntimeError, match="reset"):
        ChunkInterpolator().sample(0.0)


def test_stop_from_constant_speed_never_reverses_and_stays_in_bounds():
    interp = ChunkInterpolator(blend_time=0.1)
    q0 = np.array([0.0, 0.0])
    interp.reset(q0)
    ramp = q0 + np.outer(np.arange(16) * 0.1, [1.0, -1.0])  # 1 rad/s, both directions
    interp.add_chunk(TrajectoryChunk(t0=0.0, dt=0.1, q=ramp), 0.0)
    moving = interp.sample(0.6)
    bounds = (np.array([-10.0, -0.62]), np.array([10.0, 10.0]))  # joint 2 must stop by -0.62
    interp.hold(0.6, ddq_max=np.array([10.0, 10.0]), bounds=bounds)
    _, q, dq, ddq = _sample(interp, 0.6, 2.0)
    assert np.all(dq[:, 0] >= -1e-12) and np.all(dq[:, 1] <= 1e-12)  # no reversal
    assert np.all(np.abs(ddq[:, 0]) <= 0.5 * 10.0 + 1e-9)  # free joint: half the budget
    # the bounded joint must stop sooner: harder, as it must be, but still without reversing
    assert q[-1, 0] == pytest.approx(moving.q[0] + 0.5 * moving.dq[0] * 0.3, abs=1e-6)
    assert q[:, 1].min() >= -0.62 - 1e-9  # the bound held
    assert np.allclose(dq[-1], 0.0) and np.allclose(ddq[-1], 0.0)


def test_blends_do_not_pile_up_when_chunks_come_every_blend_time():
    interp = ChunkInterpolator(blend_time=0.1)
    interp.reset(np.zeros(2))
    for k in range(200):
        t = k * 0.1
        interp.add_chunk(_chunk(t, np.zeros(2), np.array([0.1, 0.1])), t)
    depth, node = 0, interp._active
    while hasattr(node, "old"):
        depth, node = depth + 1, node.old
    assert depth <= 2


LIMITS = (np.full(3, 2.0), np.full(3, 10.0), np.full(3, 5000.0))  # dq, ddq, dddq


def test_a_chunk_far_from_the_reference_is_blended_in_within_the_limits():
    """A policy's first chunk 0.03 rad off the resting arm: the blend is lengthened so the
    reference's acceleration and jerk stay within the limits (a fixed 0.1 s blend breaks them)."""
    far = TrajectoryChunk(t0=0.1, dt=0.1, q=np.full((16, 3), 0.03))
    for limits, within in ((None, False), (LIMITS, True)):
        interp = ChunkInterpolator(blend_time=0.1, limits=limits)
        interp.reset(np.zeros(3))
        interp.add_chunk(far, 0.0)
        _, q, _, ddq = _sample(interp, 0.0, 1.2)
        jerk = np.abs(np.diff(ddq, axis=0)) / DT
        assert (np.abs(ddq).max() <= LIMITS[1][0] and jerk.max() <= LIMITS[2][0]) == within
        assert np.allclose(q[-1], 0.03)


def _sample_spline(chunk):
    interp = ChunkInterpolator(blend_time=1e-6)
    interp.reset(chunk.q[0])
    interp.add_chunk(chunk, chunk.t0)
    return _sample(interp, chunk.t0 + 0.001, chunk.t0 + chunk.dt * (chunk.horizon - 1))


def test_a_chunk_asking_too_much_is_slowed_down():
    fast = _chunk(0.0, np.zeros(3), np.array([5.0, 0.0, 0.0]))  # 5 rad/s against 2 rad/s
    slowed = slowed_to_limits(fast, LIMITS)
    assert slowed.dt > fast.dt
    _, _, dq, ddq = _sample_spline(slowed)
    assert np.abs(dq).max() <= CHUNK_BUDGET * LIMITS[0][0] * 1.01  # the spline, between nodes too
    assert np.abs(ddq).max() <= CHUNK_BUDGET * LIMITS[1][0] * 1.01
    assert np.array_equal(slowed.q, fast.q)  # same path, later
    gentle = _chunk(0.0, np.zeros(3), np.array([0.1, 0.0, 0.0]))
    assert slowed_to_limits(gentle, LIMITS, segments=8) is gentle
    assert slowed_to_limits(gentle, LIMITS) is not gentle  # its last segment stops the arm
