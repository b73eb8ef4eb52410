"""The chunk source of a split session: observations out, chunks checked and aligned."""

from __future__ import annotations

import time

import numpy as np
import pytest

from robostack.core.robots import get_robot
from robostack.core.types import JointState
from robostack.runtime.control_link import ControlLink, PolicyServerError
from robostack.runtime.remote_source import RemotePolicySource, remote_source_factory
from robostack.runtime.safety import Mode, Reaction
from robostack.transport import lcmtypes
from robostack.transport.codec import decode
from robostack.transport.config import max_bytes
from tests.policies.helpers import FEATURES
from tests.runtime.safety.test_monitor import monitor
from tests.transport.helpers import (
    DELIVERY_S,
    SERVER,
    Listener,
    beating,
    chunk_message,
    private_config,
)

DOF = FEATURES.action_dim - 1
LIMITS = (np.full(DOF, 2.0), np.full(DOF, 15.0), np.full(DOF, 7500.0))


@pytest.fixture
def link():
    with ControlLink(config=private_config(startup_timeout_s=0.5)) as link:
        link.bind(monitor())
        link.use_server(SERVER)
        yield link


def _source(link: ControlLink, episode: int = 0) -> RemotePolicySource:
    return RemotePolicySource(
        link,
        episode=episode,
        seed=3,
        description="reach the red marker",
        robot_state=lambda s: np.concatenate([s.q, s.dq, [0.0]]),
        environment_state=lambda: np.array([0.5, 0.25]),
        limits=LIMITS,
        features=FEATURES,
        dt=0.001,
    )


def _at(t: float, q: float = 0.0) -> JointState:
    return JointState(t=t, q=np.full(DOF, q), dq=np.zeros(DOF))


def _take(link: ControlLink, count: int) -> None:
    """Wait (within `DELIVERY_S`) until ``count`` chunks have reached the link: LCM hands them
    over from a receive thread of its own, which a loaded machine delays."""
    deadline = time.monotonic() + DELIVERY_S
    while len(link.chunks) < count:
        assert time.monotonic() < deadline, f"{len(link.chunks)} of {count} chunks arrived"
        link.wait(0.05)


def test_observations_go_out_at_the_policy_rate_and_chunks_align_to_them(link):
    server = Listener(link.config, "OBSERVATION")
    source = _source(link)
    server.publish("CHUNK", chunk_message(session=link.session).encode())
    first = source.next_chunk(_at(0.0, q=0.05))  # before anything moves: waits for it
    assert first.obs_time == 0.0 and first.t0 == 0.0
    assert np.allclose(first.q[0], 0.05)  # led by the observed position
    assert np.allclose(first.q[1:], 0.1) and first.horizon == FEATURES.horizon + 1
    for k in range(1, 150):  # 0.15 s of ticks: one more observation, at 0.1 s
        assert source.next_chunk(_at(k * 1e-3)) is None
    observations = [
        decode(lcmtypes.observation_t, data, max_bytes=max_bytes("OBSERVATION"))
        for _, data in server.wait_for("OBSERVATION", 2)
    ]
    assert [(o.index, o.utime) for o in observations] == [(0, 0), (1, 100_000)]
    assert observations[0].session == link.session and observations[0].seed == 3
    assert observations[0].task == "reach the red marker"
    assert np.allclose(observations[0].environment_state, [0.5, 0.25])
    late = chunk_message(session=link.session, index=1, obs_utime=100_000, value=0.2)
    server.deliver("CHUNK", late.encode())
    _take(link, 1)
    chunk = source.next_chunk(_at(0.3))  # 0.2 s late: stitched in at its observation's time
    assert chunk.obs_time == pytest.approx(0.1) and chunk.t0 == pytest.approx(0.1)
    assert source.stats()["chunks"] == 2 and source.stats()["observations"] == 3  # and at 0.3 s


def test_unusable_chunks_are_dropped_with_an_event_and_never_reach_the_loop(link):
    server = Listener(link.config)
    source = _source(link, episode=2)
    good = {"session": link.session, "episode": 2}
    server.publish("CHUNK", chunk_message(**good).encode())
    source.next_chunk(_at(0.0))
    for k in range(1, 801):  # observations 1..8 go out (0.8 s)
        source.next_chunk(_at(k * 1e-3))
    bad = {
        "ipc_malformed": b"not a chunk",
        "ipc_oversized": chunk_message(**good, horizon=1500, index=8, obs_utime=800_000).encode(),
        "ipc_foreign": chunk_message(session=link.session + 1, episode=2, index=8).encode(),
        "another server": chunk_message(**good, server=SERVER + 1, index=8).encode(),
        "ipc_stale": chunk_message(session=link.session, episode=1, index=8).encode(),
        "ipc_out_of_order": chunk_message(**good, index=0).encode(),
        "ipc_mismatch": chunk_message(**good, index=8, obs_utime=123).encode(),
        "shape": chunk_message(**good, index=8, obs_utime=800_000, dof=DOF + 1).encode(),
        "spacing": chunk_message(**good, index=8, obs_utime=800_000, dt=0.05).encode(),
        "too old": chunk_message(**good, index=3, obs_utime=300_000).encode(),
    }
    last = chunk_message(**good, index=8, obs_utime=800_000, value=0.3).encode()
    server.deliver("CHUNK", *bad.values(), last)
    _take(link, len(bad) + 1)
    chunk = source.next_chunk(_at(0.801))
    assert chunk is not None and np.allclose(chunk.q[1:], 0.3)  # only the good one
    safety = link.safety
    assert {e.check for e in safety.events} == {
        "ipc_malformed",
        "ipc_oversized",
        "ipc_foreign",
        "ipc_stale",
        "ipc_out_of_order",
        "ipc_mismatch",
    }
    assert all(e.reaction is Reaction.DROP for e in safety.events)
    assert sum(safety.dropped.values()) == len(bad) and safety.dropped["ipc_malformed"] == 3
    assert safety.dropped["ipc_foreign"] == 2
    assert safety.dropped["ipc_stale"] == 2 and safety.mode is Mode.RUNNING


def test_no_chunk_for_the_first_observation_is_refused_before_anything_moves(link):
    with pytest.raises(PolicyServerError, match="no usable chunk"):
        _source(link).next_chunk(_at(0.0))


def test_a_stop_while_waiting_for_the_first_chunk_ends_the_wait_with_nothing_moved(link):
    Listener(link.config).deliver("STOP", lcmtypes.operator_stop_t().encode())
    assert _source(link).next_chunk(_at(0.0)) is None  # the loop then STOPs at its first tick


def test_a_chunk_without_gripper_widths_keeps_the_observed_width(link):
    server = Listener(link.config)
    no_gripper = chunk_message(session=link.session)
    no_gripper.num_gripper, no_gripper.gripper = 0, []
    server.publish("CHUNK", no_gripper.encode())
    observed = JointState(t=0.0, q=np.zeros(DOF), dq=np.zeros(DOF), gripper_width=0.03)
    chunk = _source(link).next_chunk(observed)
    assert np.allclose(chunk.gripper, 0.03)


@pytest.mark.parametrize(
    ("task", "action_dim", "refusal"),
    [("push", 8, "not push on the panda"), ("reach", 7, "makes 7 per waypoint")],
)
def test_a_server_that_does_not_fit_is_refused_when_the_factory_is_built(
    link, task, action_dim, refusal
):
    """A real robot's split session builds the factory before its start move: nothing moves
    for a server of another task or layout."""
    beat = lcmtypes.policy_status_t()
    beat.server, beat.robot, beat.checkpoint = SERVER, "panda", "reach"
    beat.num_tasks, beat.tasks = 1, ["reach"]
    beat.state_dim, beat.environment_dim, beat.action_dim = 18, 3, action_dim  # Panda: 18, 8
    beat.horizon, beat.executed, beat.fps = 16, 8, 10
    spec = get_robot("panda").spec
    with beating(link.config, beat), pytest.raises(PolicyServerError, match=refusal):
        remote_source_factory(link, seed=0, task=task, robot="panda", spec=spec)
