"""Shared fixtures: robot descriptions and models are built once per session."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from robostack.core.model import RigidBodyModel
from robostack.core.robots import ROBOTS, get_robot

ROBOT_NAMES = sorted(ROBOTS)


@functools.cache
def model_of(name: str) -> RigidBodyModel:
    return RigidBodyModel(get_robot(name))


@pytest.fixture(params=ROBOT_NAMES)
def robot_name(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def reach_dataset(tmp_path_factory):
    """A few reach demonstrations by the scripted expert, in the LeRobot layout (shared)."""
    from robostack.sessions.collect import collect

    root = tmp_path_factory.mktemp("datasets")
    collect("reach", episodes=6, out=root / "reach", runs_dir=root / "runs", seed=1000)
    return root / "reach"


@contextmanager
def in_background(work: Callable[[threading.Event], None]) -> Iterator[None]:
    """Run ``work(done)`` in a thread while the block runs; ``done`` is set as it ends."""
    done = threading.Event()
    thread = threading.Thread(target=work, args=(done,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
