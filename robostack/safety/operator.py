"""The operator's stop: SIGINT (Ctrl-C) becomes a STOP through the safety monitor."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from robostack.safety.monitor import SafetyMonitor


@contextmanager
def stop_on_sigint(monitor: SafetyMonitor) -> Iterator[None]:
    """While inside, the first SIGINT asks ``monitor`` for a STOP (the arm is braked and the
    session ends cleanly); a second one raises KeyboardInterrupt. No-op off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    asked = False

    def handler(signum, frame):
        nonlocal asked
        if asked:
            raise KeyboardInterrupt
        asked = True
        monitor.stop("SIGINT")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
