"""The velocity command limiter: any request becomes a signal within the robot's velocity,
acceleration and jerk, and a request within them passes unchanged."""

from __future__ import annotations

import numpy as np

from robostack.controllers.rate_limit import VelocityLimits, limit_velocity
from robostack.core.robots import get_robot

SPEC = get_robot("panda").spec
DT = SPEC.dt


def _run(requests: np.ndarray) -> tuple[np.ndarray, list]:
    """Each (7,) request of ``requests`` through the limiter from rest: the velocities sent
    (T, 7) and the limiter's answers."""
    limits = VelocityLimits.for_interface(SPEC)
    dq, ddq, sent, answers = np.zeros(7), np.zeros(7), [], []
    for request in requests:
        answer = limit_velocity(request, dq, ddq, limits, DT)
        dq, ddq = answer.dq, answer.ddq
        sent.append(dq)
        answers.append(answer)
    return np.array(sent), answers


def test_steps_beyond_every_limit_become_a_signal_within_the_robots_own():
    requests = np.zeros((1500, 7))
    requests[10:700] = 3.0  # beyond every joint's velocity, a step: beyond everything
    requests[700:] = -0.5
    sent, answers = _run(requests)
    robot = VelocityLimits.of_spec(SPEC)
    ddq = np.diff(np.vstack([np.zeros(7), sent]), axis=0) / DT
    jerk = np.diff(np.vstack([np.zeros(7), ddq]), axis=0) / DT
    assert (np.abs(sent) <= robot.velocity).all()
    assert (np.abs(ddq) <= robot.acceleration * (1 + 1e-9)).all()
    assert (np.abs(jerk) <= robot.jerk * (1 + 1e-6)).all()
    assert np.allclose(sent[690], VelocityLimits.for_interface(SPEC).velocity, atol=1e-3)
    assert (sent[-1] == -0.5).all()  # arrived, exactly
    assert answers[10].velocity.all()  # asked beyond the velocity limit
    back = answers[700:]  # asked within it: the step's jerk, then the acceleration bound
    assert back[0].jerk.all() and not (back[0].velocity | back[0].acceleration).any()
    assert any(a.acceleration.any() for a in back)


def test_a_request_within_the_limits_passes_unchanged():
    t = np.arange(2000) * DT
    requests = 0.3 * np.sin(2 * np.pi * 0.5 * t)[:, None] * np.ones(7)  # 0.3 rad/s at 0.5 Hz
    sent, answers = _run(requests)
    assert (sent == requests).all()
    assert not any((a.velocity | a.acceleration | a.jerk).any() for a in answers)
