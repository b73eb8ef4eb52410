"""The safety monitor's checks and reactions, on hand-made states."""

from __future__ import annotations

import numpy as np
import pytest

from robostack.controllers import ChunkInterpolator, make_controller
from robostack.core.robots import get_robot
from robostack.core.types import (
    CommandMode,
    JointCommand,
    JointReference,
    JointState,
    TrajectoryChunk,
)
from robostack.runtime.safety import Mode, Reaction, SafetyConfig, SafetyMonitor
from tests.conftest import model_of

SPEC = get_robot("panda").spec
HOME = get_robot("panda").q_home


def monitor(**overrides) -> SafetyMonitor:
    interpolator = ChunkInterpolator()
    interpolator.reset(HOME)
    model = model_of("panda")
    return SafetyMonitor(
        config=SafetyConfig.for_robot(SPEC, **overrides),
        model=model,
        interpolator=interpolator,
        hold_controller=make_controller("impedance", spec=SPEC, model=model, dt=SPEC.dt),
    )


def state(t=0.0, q=None, dq=None, tau_ext=None):
    return JointState(
        t=t,
        q=HOME.copy() if q is None else q,
        dq=np.zeros(7) if dq is None else dq,
        tau_ext=np.zeros(7) if tau_ext is None else tau_ext,
    )


def ref(q=None, dq=None, ddq=None):
    return JointReference(
        HOME.copy() if q is None else q,
        np.zeros(7) if dq is None else dq,
        np.zeros(7) if ddq is None else ddq,
    )


def run_ticks(m, n, *, make_state=state, make_ref=ref, tau=None):
    out = None
    for tick in range(n):
        t = tick * SPEC.dt
        out = m.filter(tick, make_state(t), make_ref(), np.zeros(7) if tau is None else tau)
    return out


def test_quiet_ticks_pass_unchanged():
    m = monitor()
    _, tau = run_ticks(m, 50, tau=np.full(7, 0.5))
    assert m.mode is Mode.RUNNING and m.events == [] and np.allclose(tau, 0.5)


def test_torque_is_clamped_with_one_event_per_episode():
    m = monitor()
    big = np.array([200.0, 0, 0, 0, 0, 0, 0])
    run_ticks(m, 300, tau=big)  # rate-limited ramp, then held at the limit
    _, tau = m.filter(300, state(0.3), ref(), big)
    assert tau[0] == pytest.approx(87.0)
    checks = [(e.check, e.joint) for e in m.events]
    assert checks.count(("torque_limit", "panda_joint1")) == 1
    assert checks.count(("torque_rate", "panda_joint1")) == 1
    assert m.mode is Mode.RUNNING and all(e.reaction is Reaction.CLAMP for e in m.events)


def test_torque_rate_is_limited_to_1000_nm_per_s():
    m = monitor()
    m.filter(0, state(), ref(), np.zeros(7))
    _, tau = m.filter(1, state(0.001), ref(), np.full(7, 5.0))
    assert np.allclose(tau, 1.0)  # 1000 Nm/s x 1 ms


@pytest.mark.parametrize(
    ("joint", "value", "check", "reaction", "bound"),
    [
        (3, -0.0698 - 0.05, "position_soft_limit", Reaction.HOLD, -0.0698 - 0.1),
        (3, -0.0698 - 0.01, "position_limit", Reaction.STOP, -0.0698 - 0.02),
    ],
)
def test_joint_limit_zones(joint, value, check, reaction, bound):
    """Soft zone 0.1 rad from the limit: HOLD; hard zone 0.02 rad: STOP. The event names the
    zone boundary that was crossed."""
    m = monitor()
    q = HOME.copy()
    q[joint] = value
    m.filter(0, state(q=q), ref(q=q), np.zeros(7))
    (event,) = [e for e in m.events if e.check == check]
    assert event.reaction is reaction and event.joint == f"panda_joint{joint + 1}"
    assert event.value == pytest.approx(value) and event.limit == pytest.approx(bound)


def test_velocity_collision_and_tracking_stop_the_arm():
    for make, check in [
        (lambda t: state(t, dq=np.array([0, 0, 0, 0, 0, 0, 3.0])), "velocity_limit"),
        (lambda t: state(t, tau_ext=np.array([0, 30.0, 0, 0, 0, 0, 0])), "collision"),
        (lambda t: state(t, q=HOME + np.array([0.2, 0, 0, 0, 0, 0, 0])), "tracking_error"),
    ]:
        m = monitor()
        m.filter(0, make(0.0), ref(), np.zeros(7))
        assert m.outcome == "stopped" and m.events[0].check == check
        assert m.events[0].reaction is Reaction.STOP


def test_stop_brakes_with_damping_then_halts():
    m = monitor()
    m.stop("test")
    dq = np.full(7, 0.5)
    m.filter(0, state(dq=dq), ref(), np.zeros(7))
    _, tau = m.filter(1, state(0.001, dq=dq), ref(), np.full(7, 9.0))
    assert np.all(tau < 0)  # damping opposes the motion (rate-limited)
    m.filter(2, state(0.002), ref(), np.zeros(7))  # at rest
    assert m.mode is Mode.HALTED and m.finished and m.outcome == "stopped"


def test_a_stop_brakes_the_reference_for_position_and_speed_commanded_arms():
    """A UR in servoJ / speedJ follows the reference, not the torque: after a STOP it must
    leave the policy's target and come to rest from the measured state within ddq_max."""
    m = monitor()
    dq = np.full(7, 0.5)
    m.filter(0, state(dq=dq), ref(), np.zeros(7))
    m.stop("test")
    far = ref(q=HOME + 0.3)
    reference, _ = m.filter(1, state(0.001, dq=dq), far, np.zeros(7))
    assert m.mode is Mode.STOPPING
    assert np.allclose(reference.q, HOME, atol=1e-3) and np.allclose(reference.dq, dq)
    T = np.maximum(0.1, 3.0 * dq / SPEC.ddq_max)  # `Stop`: at least the 0.1 s blend time
    rest = 0.5 * dq * T  # ... at q + dq T / 2
    reference, _ = m.filter(2, state(0.5, q=HOME + rest, dq=dq), far, np.zeros(7))
    assert np.allclose(reference.q, HOME + rest) and np.allclose(reference.dq, 0.0)
    assert np.abs(reference.q - far.q).max() > 0.2


def test_reference_jump_holds_from_the_last_good_reference():
    m = monitor()
    m.filter(0, state(), ref(), np.zeros(7))
    jumped = HOME + np.array([0.5, 0, 0, 0, 0, 0, 0])
    reference, _ = m.filter(1, state(0.001), ref(q=jumped), np.zeros(7))
    assert m.mode is Mode.HOLDING and m.events[0].check == "reference_step"
    assert np.allclose(reference.q, HOME)  # the hold starts where the good reference was


@pytest.mark.parametrize(
    ("gap_ms", "ticks_of_motion", "held"),
    [(1, 2.4, True), (3, 2.4, False), (5, 4.8, False), (50, 6.0, True)],
)
def test_a_reference_step_is_bounded_over_the_robot_time_elapsed(gap_ms, ticks_of_motion, held):
    """Lost packets: the robot's clock skips periods and the reference moves on with it. A
    step of ``ticks_of_motion`` ticks at 1.1 x dq_max is a jump after 1 ms, not after 3 or
    5 ms; a gap beyond the 5 ms read timeout keeps the 5 ms bound."""
    m = monitor()
    m.filter(0, state(), ref(), np.zeros(7))
    step = ticks_of_motion * 1.1 * SPEC.dq_max[0] * SPEC.dt
    m.filter(1, state(gap_ms * 1e-3), ref(q=HOME + step * np.eye(7)[0]), np.zeros(7))
    checks = [e.check for e in m.events]
    assert (m.mode is Mode.HOLDING) is held
    assert checks == (["reference_step"] if held else []), checks


def test_hold_decelerates_within_the_acceleration_limits():
    interpolator = ChunkInterpolator()
    interpolator.reset(HOME)
    q = HOME + np.outer(np.arange(16) * 0.1, np.full(7, 0.8))  # 0.8 rad/s on every joint
    interpolator.add_chunk(TrajectoryChunk(t0=0.0, dt=0.1, q=q), 0.0)
    m = monitor()
    m.interpolator = interpolator
    moving = interpolator.sample(0.5)
    m.filter(0, state(0.5, q=moving.q, dq=moving.dq), moving, np.zeros(7))
    m._last_chunk_t = -10.0  # the watchdog fires: HOLD
    m.filter(1, state(0.501, q=moving.q, dq=moving.dq), interpolator.sample(0.501), np.zeros(7))
    assert m.mode is Mode.HOLDING
    ddq = np.array([interpolator.sample(0.501 + k * 1e-3).ddq for k in range(2000)])
    assert np.all(np.abs(ddq) <= SPEC.ddq_max)
    assert np.allclose(interpolator.sample(3.0).dq, 0.0)


def test_workspace_box_holds():
    m = monitor(workspace_max=np.array([0.2, 1.0, 1.4]))  # the tool is at x = 0.307 at home
    m.filter(0, state(), ref(), np.zeros(7))
    (event,) = m.events
    assert event.check == "workspace" and event.joint == "x" and event.reaction is Reaction.HOLD
    assert event.value == pytest.approx(0.3069, abs=1e-3) and event.limit == 0.2


def test_nonfinite_inputs():
    m = monitor()
    m.filter(0, state(), ref(), np.full(7, np.nan))
    assert m.events[0].check == "command_nonfinite" and m.mode is Mode.HOLDING
    m = monitor()
    _, tau = m.filter(0, state(q=np.full(7, np.nan)), ref(), np.zeros(7))
    # no trustworthy state to brake with: halt at once, sending a finite (zero) torque
    assert m.events[0].check == "state_nonfinite" and m.mode is Mode.HALTED
    assert np.array_equal(tau, np.zeros(7))


def test_fast_path_never_hides_a_violation():
    """On random ticks near the limits, whenever the envelope says 'within', the detailed
    checks of a twin monitor find nothing either."""
    rng = np.random.default_rng(0)
    for trial in range(400):
        scale = rng.choice([0.0, 0.05, 0.5])
        q = HOME + rng.normal(0, scale, 7)
        s = state(0.001, q=q, dq=rng.normal(0, 3 * scale, 7), tau_ext=rng.normal(0, 20 * scale, 7))
        r = ref(
            q=q + rng.normal(0, 0.05 * scale, 7),
            dq=rng.normal(0, 3 * scale, 7),
            ddq=rng.normal(0, 10 * scale, 7),
        )
        tau = rng.normal(0, 30 * scale, 7)
        fast, slow = monitor(), monitor()
        for m in (fast, slow):
            m.filter(0, state(q=s.q), ref(q=r.q), np.zeros(7))
            m.events.clear()
        if fast._fast_path_clear(1, s, r, tau):
            slow._fast_path_clear = lambda *a: False
            slow.filter(1, s, r, tau)
            assert slow.events == [] and slow.mode is Mode.RUNNING, (trial, slow.events)


def test_a_failing_event_sink_never_cancels_the_reaction():
    m = monitor()

    def broken(event):
        raise OSError("disk full")

    m.listeners.append(broken)
    m.filter(0, state(dq=np.full(7, 5.0)), ref(), np.zeros(7))
    assert m.outcome == "stopped" and m.events[0].check == "velocity_limit"
    assert "disk full" in m.event_errors[0]


def test_nonfinite_external_torque_stops():
    m = monitor()
    m.filter(0, state(tau_ext=np.full(7, np.nan)), ref(), np.zeros(7))
    assert m.events[0].check == "state_nonfinite" and m.outcome == "stopped"


def test_an_operator_stop_before_the_session_starts_is_kept():
    m = monitor()
    m.stop("Ctrl-C during setup")
    m.reset(last_chunk_t=0.0)
    m.filter(0, state(), ref(), np.zeros(7))
    assert m.events[0].check == "operator_stop"


def test_chunk_gripper_widths_are_checked():
    m = monitor()
    bad = TrajectoryChunk(t0=0.0, dt=0.1, q=np.tile(HOME, (4, 1)), gripper=[0.04, 0.05, 5.0, 0.0])
    assert not m.accept_chunk(0, 0.0, bad)
    assert m.events[0].check == "chunk_gripper" and m.mode is Mode.HOLDING


def test_scalar_thresholds_broadcast_per_joint():
    m = monitor(collision_torque=5.0, stop_damping=10.0)
    m.filter(0, state(tau_ext=np.array([0, 0, 0, 0, 0, 0, 6.0])), ref(), np.zeros(7))
    assert m.events[0].check == "collision" and m.events[0].limit == 5.0


def test_a_velocity_command_is_kept_within_the_interface_each_limit_an_event():
    m = monitor()
    torque = JointCommand.torque(np.full(7, 80.0))
    assert m.limit_command(0, 0.0, torque) is torque  # torque and position: untouched
    step = np.r_[0.5, np.zeros(6)]
    sent = [
        m.limit_command(tick, tick * SPEC.dt, JointCommand(CommandMode.VELOCITY, step)).values
        for tick in range(200)
    ]
    assert sent[0][0] == pytest.approx(SPEC.dddq_max[0] * SPEC.dt**2, rel=1e-3)  # jerk-bound
    assert sent[-1][0] == 0.5 and not np.any(np.array(sent)[:, 1:])  # arrived; others still
    clamps = [(e.check, e.joint, e.reaction) for e in m.events]
    assert ("command_jerk", "panda_joint1", Reaction.CLAMP) in clamps
    assert ("command_acceleration", "panda_joint1", Reaction.CLAMP) in clamps
    assert m.mode is Mode.RUNNING  # a CLAMP: the session goes on
    nan = m.limit_command(200, 0.2, JointCommand(CommandMode.VELOCITY, np.full(7, np.nan)))
    assert np.isfinite(nan.values).all() and nan.values[0] < 0.5  # braking towards zero
