"""A virtual robot never outlives what started it: killed outright (SIGKILL, as a crashed
pytest is), its starter takes the controller with it, and the address is free again."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import loopback

ENDED_WITHIN_S = 60.0  # a second or two, longer on a loaded machine


def _serving(address: str) -> list[int]:
    """Pids of the virtual robots serving ``address`` (from /proc)."""
    needle = f"virtual-robot\0--robot\0ur5e\0--address\0{address}\0".encode()
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if needle in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


def test_a_virtual_robot_ends_when_its_starter_is_killed():
    address = loopback(61)
    starter = (
        "import os, signal\n"
        "from robostack.hardware.rehearsal.virtual.process import virtual_controller\n"
        f"with virtual_controller('ur5e', '{address}'):\n"
        "    print('serving', flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)  # no finally, no atexit: a crash\n"
    )
    # the suite's environment names pytest as the supervisor; the starter is its own
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import os; os.environ['ROBOSTACK_SUPERVISOR_PID'] = "
            f"str(os.getpid()); exec({starter!r})",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == -9 and "serving" in done.stdout, done.stderr[-2000:]
    deadline = time.monotonic() + ENDED_WITHIN_S
    while _serving(address) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _serving(address) == []
