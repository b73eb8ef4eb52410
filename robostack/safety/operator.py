"""The operator's stop: SIGINT (Ctrl-C) becomes a STOP through the safety monitor."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from robostack.safety.monitor import SafetyMonitor


class Sigint:
    """Whether the operator pressed Ctrl-C inside `stop_on_sigint` (``asked``)."""

    asked = False


@contextmanager
def stop_on_sigint(monitor: SafetyMonitor) -> Iterator[Sigint]:
    """While inside, the first SIGINT asks ``monitor`` for a STOP (the arm is braked and the
    session ends cleanly); a second one raises KeyboardInterrupt. No-op off the main thread.
    The yielded `Sigint` tells the caller afterwards, e.g. to run no further episode."""
    sigint = Sigint()
    if threading.current_thread() is not threading.main_thread():
        yield sigint
        return

    def handler(signum, frame):
        if sigint.asked:
            raise KeyboardInterrupt
        sigint.asked = True
        monitor.stop("SIGINT")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield sigint
    finally:
        signal.signal(signal.SIGINT, previous)
