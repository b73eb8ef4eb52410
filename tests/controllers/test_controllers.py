"""Controller laws and the factory."""

from __future__ import annotations

import numpy as np
import pytest

from robostack.controllers import (
    CONTROLLER_NAMES,
    PID,
    ComputedTorque,
    JointImpedance,
    make_controller,
)
from robostack.core.errors import UnknownNameError
from robostack.core.robots import get_robot
from robostack.core.types import JointReference, JointState
from tests.conftest import model_of


def _state(q, dq=None):
    return JointState(t=0.0, q=np.asarray(q, float), dq=np.zeros(len(q)) if dq is None else dq)


def _ref(q, dq=None, ddq=None):
    n = len(q)
    return JointReference(
        np.asarray(q, float),
        np.zeros(n) if dq is None else dq,
        np.zeros(n) if ddq is None else ddq,
    )


def test_every_controller_has_default_gains_for_every_robot(robot_name):
    spec = get_robot(robot_name).spec
    for name in CONTROLLER_NAMES:
        controller = make_controller(name, spec=spec, model=model_of(robot_name), dt=1e-3)
        tau = controller.update(
            _state(get_robot(robot_name).q_home), _ref(get_robot(robot_name).q_home)
        )
        assert tau.shape == (spec.dof,) and np.allclose(tau, 0.0, atol=1e-9)


def test_unknown_controller_lists_the_known_ones():
    with pytest.raises(UnknownNameError, match="known: computed_torque, impedance, pid"):
        make_controller("lqr", spec=get_robot("panda").spec, model=model_of("panda"), dt=1e-3)


def test_impedance_is_a_spring_and_damper():
    c = JointImpedance(stiffness=[100.0, 10.0], damping=[5.0, 1.0])
    tau = c.update(_state([0.0, 0.0], np.array([1.0, -1.0])), _ref([0.1, -0.2]))
    assert np.allclose(tau, [100 * 0.1 - 5.0, 10 * -0.2 + 1.0])


def test_pid_integral_is_bounded_and_does_not_wind_up():
    pid = PID(kp=[10.0], ki=[100.0], kd=[0.0], integral_limit=[2.0], tau_max=[5.0], dt=1e-3)
    for _ in range(5000):  # a large persistent error: output saturated throughout
        tau = pid.update(_state([0.0]), _ref([1.0]))
    assert tau[0] == pytest.approx(10.0)  # kp * e alone: integral held back by saturation
    pid = PID(kp=[1.0], ki=[100.0], kd=[0.0], integral_limit=[2.0], tau_max=[50.0], dt=1e-3)
    for _ in range(5000):  # unsaturated: integrates up to its clamp, no further
        tau = pid.update(_state([0.0]), _ref([0.1]))
    assert tau[0] == pytest.approx(0.1 + 2.0)
    pid.reset()
    assert pid.update(_state([0.0]), _ref([0.1]))[0] == pytest.approx(0.1 + 100 * 0.1 * 1e-3)


def test_computed_torque_feeds_forward_the_models_inverse_dynamics():
    model = model_of("panda")
    q = get_robot("panda").q_home
    dq = np.linspace(-0.5, 0.5, 7)
    ddq = np.linspace(1.0, -1.0, 7)
    c = ComputedTorque(model=model, kp=[100.0] * 7, kd=[20.0] * 7)
    tau = c.update(_state(q, dq), _ref(q, dq, ddq))  # zero error: pure feed-forward
    assert np.allclose(tau, model.mass_matrix(q) @ ddq + model.coriolis(q, dq))
