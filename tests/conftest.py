"""Shared fixtures: robot descriptions and models are built once per session.

Processes: every ``robostack`` process the suite starts (a virtual robot, a policy server, a
control process, a launch) follows this pytest (`follow_supervisor`): should pytest die, even
by a signal or a crash, they get SIGTERM from the kernel. At the end of the session, a reaper
ends whatever the suite started and is still running (found by `TEST_SESSION_ENV` in its
environment) and names it. Addresses: virtual robots serve on loopback addresses of this
suite's own (`loopback`), so that two suites can run on one host at once.
"""

from __future__ import annotations

import fcntl
import functools
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from robostack.core.model import RigidBodyModel
from robostack.core.robots import ROBOTS, get_robot
from robostack.launcher.supervisor import SUPERVISOR_ENV

ROBOT_NAMES = sorted(ROBOTS)
TEST_SESSION_ENV = "ROBOSTACK_TEST_SESSION"  # set to this pytest's pid; inherited by all below
REAP_GRACE_S = 5.0

os.environ[SUPERVISOR_ENV] = os.environ[TEST_SESSION_ENV] = str(os.getpid())


def _claim_loopback_net():
    """The second byte of a 127.N.0.0/16 no other running suite uses, and the lock that holds
    it (a file lock: released by the kernel when this process ends, however it ends)."""
    for net in range(1, 255):
        lock = open(Path(tempfile.gettempdir()) / f"robostack-tests-127.{net}.lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return net, lock
    raise RuntimeError("every 127.N.0.0/16 is held by another test suite")


LOOPBACK_NET, _LOOPBACK_LOCK = _claim_loopback_net()


def loopback(host: int) -> str:
    """A loopback address of this suite's own: ``127.<N>.0.<host>``."""
    return f"127.{LOOPBACK_NET}.0.{host}"


def started_by_suite(suite: int) -> list[int]:
    """Pids of the running processes (not zombies) whose environment has `TEST_SESSION_ENV`
    set to ``suite`` (a pytest's pid), but for the suite itself."""
    tag = f"{TEST_SESSION_ENV}={suite}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == suite:
            continue
        with suppress(OSError):
            if tag in (entry / "environ").read_bytes().split(b"\0") and _running(int(entry.name)):
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """``pid`` exists and is no zombie."""
    with suppress(OSError):
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return False


def _command_line(pid: int) -> str:
    with suppress(OSError):
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    return "?"


def reap() -> list[str]:
    """End every process this suite started that still runs (SIGTERM, then SIGKILL after
    `REAP_GRACE_S`); their pids and command lines."""
    leftover = [
        pid
        for pid in started_by_suite(os.getpid())
        if "multiprocessing.resource_tracker" not in _command_line(pid)  # ends with pytest
    ]
    named = [f"{pid} ({_command_line(pid)[:200]})" for pid in leftover]
    for pid in leftover:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + REAP_GRACE_S
    while (alive := [p for p in leftover if _running(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in alive:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return named


def pytest_sessionfinish(session, exitstatus):
    leftover = reap()
    if leftover:
        print(
            "\nthe reaper ended processes the tests left running: " + "; ".join(leftover),
            file=sys.stderr,
        )


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


def within(seconds: float, condition: Callable[[], bool], *, poll_s: float = 0.01) -> bool:
    """Whether ``condition()`` holds within ``seconds``, polled every ``poll_s``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll_s)
    return True


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
