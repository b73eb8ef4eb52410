"""The policy server: heartbeat, a chunk every Ta observations as in-process, drops."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from robostack.policies.runner import PolicyRunner
from robostack.sessions.policy_server import PolicyServer
from robostack.transport import lcmtypes
from robostack.transport.codec import decode
from robostack.transport.config import max_bytes
from tests.policies.helpers import FEATURES, randomize_outputs, tiny_dit
from tests.transport.helpers import Listener, observation_message, private_config

LANGUAGE = np.linspace(-1, 1, FEATURES.language_dim).astype(np.float32)
WAIT_S = 60  # for the server's thread to answer, on a machine as loaded as it may be


@pytest.fixture
def served():
    """A server on a private port in a thread, and a test's end of the bus."""
    policy = tiny_dit()
    randomize_outputs(policy)
    config = private_config()
    server = PolicyServer(
        policy,
        checkpoint="tiny",
        robot="panda",
        tasks=["reach"],
        config=config,
        options={"sampler": "ddim", "steps": 4},
        embed=lambda task: LANGUAGE,
    )
    done = threading.Event()
    thread = threading.Thread(target=server.serve, kwargs={"should_stop": done.is_set})
    peer = Listener(config, "CHUNK", "POLICY_STATUS")
    thread.start()
    yield server, peer
    done.set()
    thread.join()


def _chunks(peer: Listener, count: int) -> list:
    return [
        decode(lcmtypes.trajectory_chunk_t, data, max_bytes=max_bytes("CHUNK"))
        for _, data in peer.wait_for("CHUNK", count, timeout_s=WAIT_S)
    ]


def test_the_heartbeat_says_what_is_served(served):
    _, peer = served
    (_, data), *_ = peer.wait_for("POLICY_STATUS", timeout_s=WAIT_S)
    beat = decode(lcmtypes.policy_status_t, data, max_bytes=max_bytes("POLICY_STATUS"))
    assert (beat.checkpoint, beat.policy, beat.robot, beat.tasks) == (
        "tiny",
        "dit",
        "panda",
        ["reach"],
    )
    assert (beat.state_dim, beat.environment_dim, beat.action_dim) == (5, 4, 3)
    assert (beat.horizon, beat.executed, beat.fps) == (16, 8, 10)


def test_a_chunk_every_ta_observations_equal_to_the_in_process_one(served):
    server, peer = served
    for index in range(9):
        peer.publish("OBSERVATION", observation_message(index=index).encode())
        peer.pump(0.03)
    first, second = _chunks(peer, 2)
    peer.pump(0.2)
    assert len(peer.got["CHUNK"]) == 2  # observations 0 and 8 (Ta = 8)
    assert (first.index, first.obs_utime, second.index, second.obs_utime) == (0, 0, 8, 800_000)
    assert first.session == 1 and first.dt == pytest.approx(0.1)
    assert (first.num_waypoints, first.num_joints, first.num_gripper) == (16, 2, 16)
    # the same runner in this process, same seed and observations: the same chunk
    runner = PolicyRunner(server.policy, language=LANGUAGE, seed=7, options=server.options)
    msg = observation_message(index=0)
    runner.observe(np.array(msg.state), np.array(msg.environment_state), index=0)
    expected = runner.predict()
    assert np.allclose(first.joint_position, expected[:, :2], atol=1e-5)
    assert np.allclose(first.gripper, expected[:, 2], atol=1e-5)


def test_unusable_observations_are_dropped_and_counted(served):
    server, peer = served
    good = observation_message(index=0).encode()
    for data in (
        b"garbage",
        good[:-5],
        observation_message(state_dim=4).encode(),  # another robot
        observation_message(environment_dim=9).encode(),  # more task numbers than it takes
        observation_message(task="").encode(),
        good,
        good,  # a repeat: not newer than the last
    ):
        peer.publish("OBSERVATION", data)
        peer.pump(0.02)
    nan = observation_message(index=1)
    nan.state = [float("nan")] * 5
    negative = observation_message(index=2)
    negative.seed = -1
    for msg in (nan, negative):
        peer.publish("OBSERVATION", msg.encode())
    expected = {"ipc_malformed": 7, "ipc_out_of_order": 1}
    deadline = time.monotonic() + WAIT_S  # the server's thread counts them as it gets its turn
    while server.dropped != expected and time.monotonic() < deadline:
        peer.pump(0.05)
    assert server.dropped == expected
    assert [c.index for c in _chunks(peer, 1)] == [0]  # the good one was answered
