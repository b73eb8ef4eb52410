"""The control process's link: stops, heartbeat watchdog, status and events, drops."""

from __future__ import annotations

import select
import time

import numpy as np
import pytest

from robostack.core.types import JointReference
from robostack.runtime.control_link import ControlLink, PolicyServerError
from robostack.runtime.safety import Mode, Reaction
from robostack.transport import lcmtypes
from robostack.transport.codec import decode
from robostack.transport.config import max_bytes
from robostack.transport.operator_stop import MAX_STOP_BYTES, stop_message
from tests.runtime.safety.test_monitor import HOME, monitor, state
from tests.transport.helpers import (
    DELIVERY_S,
    Listener,
    beating,
    observation_message,
    private_config,
)

# short: the watchdog and the refusals wait them out
SHORT = {"policy_timeout_s": 0.2, "startup_timeout_s": 0.3}
# for a server that does answer: a beating thread on a loaded machine may wait for a core
PATIENT = {"policy_timeout_s": 5.0, "startup_timeout_s": 30.0}


@pytest.fixture
def link():
    with ControlLink(config=private_config(**SHORT)) as link:
        link.bind(monitor())
        yield link


@pytest.fixture
def patient_link():
    with ControlLink(config=private_config(**PATIENT)) as link:
        link.bind(monitor())
        yield link


def _poll(link: ControlLink, ticks: int = 1, start: int = 0) -> None:
    reference = JointReference(HOME, np.zeros(7), np.zeros(7))
    for tick in range(start, start + ticks):
        link.poll(tick, state(t=tick * 1e-3), reference, np.zeros(7))


def _poll_until(link: ControlLink, arrived, start: int = 0) -> int:
    """Poll ticks from ``start`` until ``arrived()``, within `DELIVERY_S`; the next tick. (LCM
    hands a message over from a receive thread of its own, which a loaded machine delays.)"""
    deadline = time.monotonic() + DELIVERY_S
    tick = start
    while not arrived():
        assert time.monotonic() < deadline, f"nothing arrived within {DELIVERY_S} s"
        _poll(link, 1, start=tick)
        tick += 1
        time.sleep(0.001)
    return tick


def _acks(listener: Listener, count: int):
    """Whether ``listener`` has heard ``count`` stop acknowledgements (pumping it 10 ms)."""
    return lambda: len(listener.wait_for("STOP_ACK", count, timeout_s=0.01)) >= count


def test_an_operator_stop_over_lcm_stops_the_arm(link):
    other = Listener(link.config)
    stop = lcmtypes.operator_stop_t()
    stop.source, stop.reason = "test bench", "hand in the workspace"
    other.deliver("STOP", stop.encode())
    tick = _poll_until(link, lambda: link.stop_requests)
    link.safety.filter(
        tick, state(t=tick * 1e-3), JointReference(HOME, np.zeros(7), np.zeros(7)), np.zeros(7)
    )
    event = link.safety.events[0]
    assert event.check == "operator_stop" and event.reaction is Reaction.STOP
    assert "test bench: hand in the workspace" in event.message
    assert link.stop_requests == ["over LCM from test bench: hand in the workspace"]


def test_a_stop_between_episodes_stops_the_next_one(link):
    Listener(link.config).deliver("STOP", lcmtypes.operator_stop_t().encode())
    _poll_until(link, lambda: link.stop_requests)
    fresh = monitor()
    link.bind(fresh)
    fresh.filter(0, state(), JointReference(HOME, np.zeros(7), np.zeros(7)), np.zeros(7))
    assert fresh.outcome == "stopped"


def test_a_stop_is_obeyed_whatever_its_payload_and_acknowledged(link):
    other = Listener(link.config, "STOP_ACK")
    oversized = lcmtypes.operator_stop_t()
    oversized.utime, oversized.source, oversized.reason = 5, "someone", "停" * 3000
    other.deliver("STOP", *[oversized.encode()] * 2)  # two copies: one stop, acknowledged twice
    _poll_until(link, _acks(other, 2))
    assert link.safety.stop_requested  # STOPs at the next tick
    (request,) = link.stop_requests
    assert "unreadable operator stop" in request and "at most 2048" in request
    drops = [e for e in link.safety.events if e.reaction is Reaction.DROP]
    assert {e.check for e in drops} == {"ipc_oversized"}
    acks = other.wait_for("STOP_ACK", 2)
    ack = decode(lcmtypes.operator_stop_ack_t, acks[0][1], max_bytes=max_bytes("STOP_ACK"))
    assert ack.session == link.session and ack.stop_utime == 5 and ack.state == "stopping"


def test_the_sender_cuts_a_stop_far_inside_the_channel_limit():
    stop = stop_message(source="s" * 5000, reason="停" * 3000, utime=1)
    data = stop.encode()
    assert len(data) <= MAX_STOP_BYTES < max_bytes("STOP") // 2
    assert decode(lcmtypes.operator_stop_t, data, max_bytes=max_bytes("STOP")).reason.endswith(
        "停..."
    )


@pytest.mark.parametrize("channel", ["STOP", "POLICY_STATUS", "CHUNK"])
def test_malformed_messages_on_the_control_channels_change_nothing(link, channel):
    other = Listener(link.config)
    other.deliver(channel, b"garbage", lcmtypes.policy_status_t().encode()[:-2], bytes(9000))
    if channel == "CHUNK":  # queued raw for the chunk source, which checks them
        _poll_until(link, lambda: len(link.chunks) >= 3)
        assert len(link.chunks) == 3
        return
    _poll_until(link, lambda: sum(link.safety.dropped.values()) >= 3)
    drops = [e for e in link.safety.events if e.reaction is Reaction.DROP]
    assert {e.check for e in drops} == {"ipc_malformed", "ipc_oversized"}
    assert all(link.config.channel(channel) in e.message for e in drops)
    assert sum(link.safety.dropped.values()) == 3
    assert link.safety.mode is Mode.RUNNING and link.stop_requests == []


def test_the_policy_watchdog_holds_the_arm_once_the_policy_is_in_use(link):
    other = Listener(link.config)
    other.deliver("POLICY_STATUS", lcmtypes.policy_status_t().encode())
    tick = _poll_until(link, lambda: link.heartbeats)
    time.sleep(0.25)  # longer than policy_timeout_s without a heartbeat
    _poll(link, 1, start=tick)
    assert link.safety.mode is Mode.RUNNING  # not asked anything yet: a start move, say
    link.publish("OBSERVATION", observation_message())
    _poll(link, 1, start=tick + 1)
    event = link.safety.events[-1]
    assert event.check == "policy_lost" and event.reaction is Reaction.HOLD
    assert event.value > link.config.policy_timeout_s == event.limit
    assert link.safety.mode is Mode.HOLDING


def test_no_policy_server_is_refused_before_anything_moves(link):
    with pytest.raises(PolicyServerError, match="no policy server"):
        link.wait_for_policy()


def test_status_every_decimation_ticks_and_every_safety_event_go_out(link):
    other = Listener(link.config, "STATUS", "SAFETY")
    _poll(link, 25)
    link.safety.stop("test")
    link.safety.filter(
        25, state(t=0.025), JointReference(HOME, np.zeros(7), np.zeros(7)), np.zeros(7)
    )
    statuses = [
        decode(lcmtypes.robot_status_t, data, max_bytes=max_bytes("STATUS"))
        for _, data in other.wait_for("STATUS", 3)
    ]
    assert [s.tick for s in statuses] == [0, 10, 20]
    assert statuses[0].session == link.session and statuses[0].safety_state == "running"
    assert np.allclose(statuses[0].joint_position, HOME) and statuses[0].command_mode == "torque"
    ((_, data),) = other.wait_for("SAFETY")
    event = decode(lcmtypes.safety_event_t, data, max_bytes=max_bytes("SAFETY"))
    assert (event.check, event.reaction, event.tick) == ("operator_stop", "STOP", 25)


def test_copies_of_one_stop_count_once_and_a_failed_send_never_reaches_the_loop(link):
    other = Listener(link.config, "STOP_ACK")
    stop = lcmtypes.operator_stop_t()
    stop.utime, stop.source, stop.reason = 42, "robostack stop", "test"
    other.deliver("STOP", *[stop.encode()] * 3)
    _poll_until(link, _acks(other, 3))  # each copy acknowledged
    assert len(link.stop_requests) == 1

    class Unreachable:  # the bus, but every send fails as on a network that went away
        def __init__(self, bus):
            self.bus = bus

        def publish(self, channel, data):
            raise OSError("network is unreachable")

        def __getattr__(self, name):
            return getattr(self.bus, name)

    link.lcm = Unreachable(link.lcm)
    _poll(link, 1, start=10)  # a status tick: the send fails, the tick goes on
    (event,) = [e for e in link.safety.events if e.check == "ipc_send_failed"]
    assert event.reaction is Reaction.DROP and "unreachable" in event.message
    assert link.send_failures == {"STATUS": 1, "SAFETY": 1}  # the event could not go out either


def test_heartbeats_queued_while_busy_do_not_pass_for_a_live_server(link):
    """A server that beat, then died while this process was busy elsewhere (its heartbeats
    still in the socket): refused, not taken for alive."""
    other = Listener(link.config)
    beat = lcmtypes.policy_status_t()
    beat.server = 42
    other.deliver("POLICY_STATUS", *[beat.encode()] * 5)
    readable, _, _ = select.select([link.lcm.fileno()], [], [], DELIVERY_S)
    assert readable  # waiting for the link (LCM's receive thread has queued them)
    with pytest.raises(PolicyServerError, match="no policy server"):
        link.wait_for_policy()


def test_a_pause_of_the_control_process_as_it_checks_is_not_a_silent_server(monkeypatch):
    """This process stalls longer than the watchdog while it checks for a second server (a
    loaded machine): the server it heard is taken once its next heartbeat comes."""
    config = private_config(policy_timeout_s=0.2, startup_timeout_s=PATIENT["startup_timeout_s"])
    beat = lcmtypes.policy_status_t()
    beat.server = 7
    with ControlLink(config=config) as link, beating(config, beat):
        wait = link.wait

        def stalling_wait(timeout_s: float) -> None:
            wait(timeout_s)
            if timeout_s > 0.1:  # the window for a second server
                time.sleep(2 * config.policy_timeout_s)

        monkeypatch.setattr(link, "wait", stalling_wait)
        assert link.wait_for_policy().server == 7


def test_two_policy_servers_on_one_prefix_are_refused_before_anything_moves(patient_link):
    beats = [lcmtypes.policy_status_t() for _ in range(2)]
    beats[0].server, beats[1].server = 1, 2
    with (
        beating(patient_link.config, *beats),
        pytest.raises(PolicyServerError, match="2 policy servers"),
    ):
        patient_link.wait_for_policy()


def test_a_tagged_session_hears_only_its_own_server_and_stops_on_either_stop_channel():
    from dataclasses import replace

    shared = private_config(**PATIENT)
    own = replace(shared, session_tag="A1B2C3D4")
    assert own.channel("CHUNK") == "ROBOSTACK_A1B2C3D4_CHUNK"
    assert own.stop_channels() == ("ROBOSTACK_A1B2C3D4_STOP", "ROBOSTACK_STOP")
    others = [lcmtypes.policy_status_t() for _ in range(2)]
    others[0].server, others[1].server = 1, 2
    ours = lcmtypes.policy_status_t()
    ours.server = 3
    with ControlLink(config=own) as link:
        link.bind(monitor())
        # two servers on the shared channels of the same URL: not this session's
        with beating(shared, *others), beating(own, ours):
            assert link.wait_for_policy().server == 3
        for config, source in ((own, "its own"), (shared, "everyone's")):
            stop = lcmtypes.operator_stop_t()
            stop.source = source
            Listener(config).deliver("STOP", stop.encode())
        _poll_until(link, lambda: len(link.stop_requests) >= 2)  # behind queued heartbeats
        assert [r.split(":")[0] for r in link.stop_requests] == [
            "over LCM from its own",
            "over LCM from everyone's",
        ]
