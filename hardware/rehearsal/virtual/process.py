"""`virtual_controller`: a virtual robot controller in its own process, for tests and benches.

It runs ``robostack virtual-robot`` as a subprocess (the vendors' clients hold the interpreter
while they wait, so a controller in the client's process would stall with it) and yields once
the controller's ports are open; on exit it sends SIGTERM and waits.
"""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from robostack.core.errors import RobotConnectionError
from robostack.hardware.rehearsal.virtual.server import request

READY_S = 60.0  # s for the controller to say it is ready


@contextmanager
def virtual_controller(
    robot: str, address: str, *, firmware: str | None = None, extra: tuple[str, ...] = ()
) -> Iterator[None]:
    """Serve a virtual ``robot`` controller at ``address`` while the block runs; ``extra``:
    more of ``robostack virtual-robot``'s options (a task's scene, cameras)."""
    command = [sys.executable, "-m", "robostack.cli.main", "virtual-robot", "--robot", robot]
    command += ["--address", address, "--json", *extra]
    command += ["--firmware", firmware] if firmware else []
    # its own session: a Ctrl-C in the terminal reaches the session using it, as on a real
    # controller, not the controller itself
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        said, _, _ = select.select([process.stdout], [], [], READY_S)
        line = process.stdout.readline() if said else ""
        if not line or not json.loads(line).get("ready"):
            raise RobotConnectionError(
                f"the virtual {robot} at {address} did not start within {READY_S:g} s (exit "
                f"code {process.poll()})"
            )
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=10)  # drains its last report
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def inject(address: str, fault: str, *, delay: float = 0.0) -> float:
    """Schedule ``fault`` ``delay`` s from now on the controller at ``address``; the controller
    time it is due at, s."""
    answer = request(address, f"inject {fault} {delay}")
    if not answer.startswith("ok "):
        raise RobotConnectionError(f"the virtual controller at {address}: {answer}")
    return float(answer.split()[1])
