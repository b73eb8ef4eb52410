"""LCM on a port of each test's own (udpm, ttl=0: this machine), and message builders."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import lcm

from robostack.transport import lcmtypes
from robostack.transport.config import IpcConfig
from tests.conftest import in_background

DELIVERY_S = 30.0  # for a message to cross loopback: instant, but a loaded machine waits


def private_config(**overrides) -> IpcConfig:
    """An `IpcConfig` on a random port, so that tests never hear each other. The port is below
    Linux's ephemeral range (32768-60999), where any UDP socket that sends without binding
    (LCM's own sender, the virtual Franka's) may already hold it."""
    port = random.randint(20000, 32000)
    return IpcConfig(url=f"udpm://239.255.76.67:{port}?ttl=0", **overrides)


class Listener:
    """Collects (arrival time s, raw message) per channel of ``config``."""

    def __init__(self, config: IpcConfig, *names: str):
        self.bus = lcm.LCM(config.url)
        self.config = config
        self.got: dict[str, list[tuple[float, bytes]]] = {}
        for name in names:
            self._subscribe(name)

    def _subscribe(self, name: str) -> None:
        self.got[name] = []
        self.bus.subscribe(
            self.config.channel(name),
            lambda _, data: self.got[name].append((time.monotonic(), data)),
        )

    def publish(self, name: str, data: bytes) -> None:
        self.bus.publish(self.config.channel(name), data)

    def deliver(self, name: str, *messages: bytes) -> None:
        """Publish ``messages`` on ``name`` and return once this listener has heard them all
        (within `DELIVERY_S`). The kernel hands a multicast datagram to every socket of the
        group in one pass, so they are in every other subscriber's socket by then (its LCM
        receive thread may still be handing them over)."""
        if name not in self.got:
            self._subscribe(name)
        expected = len(self.got[name]) + len(messages)
        for data in messages:
            self.publish(name, data)
        heard = len(self.wait_for(name, expected, timeout_s=DELIVERY_S))
        assert heard == expected, f"{heard} of {expected} messages on {name} within {DELIVERY_S} s"

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.bus.handle_timeout(10)

    def wait_for(self, name: str, count: int = 1, timeout_s: float = DELIVERY_S) -> list:
        end = time.monotonic() + timeout_s
        while len(self.got[name]) < count and time.monotonic() < end:
            self.bus.handle_timeout(10)
        return self.got[name]


SERVER = 7  # the policy server id the tests' chunks come from


@contextmanager
def beating(config: IpcConfig, *beats: lcmtypes.policy_status_t) -> Iterator[None]:
    """While inside, ``beats`` go out on POLICY_STATUS at 20 Hz, as from live servers."""
    listener = Listener(config)

    def beat(done: threading.Event) -> None:
        while not done.wait(0.05):
            for message in beats:
                listener.publish("POLICY_STATUS", message.encode())

    with in_background(beat):
        yield


def chunk_message(
    *,
    session: int,
    server: int = SERVER,
    episode: int = 0,
    index: int = 0,
    obs_utime: int = 0,
    horizon: int = 16,
    dof: int = 2,
    dt: float = 0.1,
    value: float = 0.1,
):
    msg = lcmtypes.trajectory_chunk_t()
    msg.server = server
    msg.obs_utime, msg.session, msg.episode, msg.index, msg.dt = (
        obs_utime,
        session,
        episode,
        index,
        dt,
    )
    msg.num_waypoints, msg.num_joints = horizon, dof
    msg.joint_position = [[value] * dof for _ in range(horizon)]
    msg.num_gripper, msg.gripper = horizon, [0.0] * horizon
    msg.inference_ms = 1.5
    return msg


def observation_message(
    *,
    session: int = 1,
    episode: int = 0,
    index: int = 0,
    state_dim: int = 5,
    environment_dim: int = 3,
    task: str = "reach the red marker",
    images: tuple = (),
):
    """An observation; ``images``: its frames (`lcmtypes.image_t`)."""
    msg = lcmtypes.observation_t()
    msg.utime, msg.session, msg.episode, msg.seed, msg.index = (
        index * 100_000,
        session,
        episode,
        7,
        index,
    )
    msg.task = task
    msg.state_dim, msg.state = state_dim, [0.1 * index] * state_dim
    msg.environment_dim, msg.environment_state = environment_dim, [0.2] * environment_dim
    msg.num_images, msg.images = len(images), list(images)
    return msg
