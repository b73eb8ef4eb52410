"""The operator's stop: SIGINT (Ctrl-C) becomes a STOP through the safety monitor, for an
episode on the main thread (`stop_on_sigint`) or for episodes on worker threads, whose
monitors the main thread stops together (`stop_workers_on_sigint`)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from robostack.safety.monitor import SafetyMonitor


class Sigint:
    """Whether the operator pressed Ctrl-C inside `stop_on_sigint` (``asked``)."""

    asked = False


class _Workers:
    """The episodes inside `stop_on_sigint` off the main thread; `stop_workers_on_sigint`
    stops them together, and those that join after it did (``stopped``) at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[SafetyMonitor, Sigint] = {}
        self.stopped = False

    def join(self, monitor: SafetyMonitor, sigint: Sigint) -> None:
        with self.lock:
            self.running[monitor] = sigint
            if self.stopped:
                _stop(monitor, sigint)

    def leave(self, monitor: SafetyMonitor) -> None:
        with self.lock:
            self.running.pop(monitor, None)

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            for monitor, sigint in self.running.items():
                _stop(monitor, sigint)


_WORKERS = _Workers()


def _stop(monitor: SafetyMonitor, sigint: Sigint) -> None:
    sigint.asked = True
    monitor.stop("SIGINT")


@contextmanager
def stop_on_sigint(monitor: SafetyMonitor) -> Iterator[Sigint]:
    """While inside, the first SIGINT asks ``monitor`` for a STOP (the arm is braked and the
    session ends cleanly); a second one raises KeyboardInterrupt. Off the main thread, which
    alone receives signals, ``monitor`` waits for `stop_workers_on_sigint` to stop it. The
    yielded `Sigint` tells the caller afterwards, e.g. to run no further episode."""
    sigint = Sigint()
    if threading.current_thread() is not threading.main_thread():
        _WORKERS.join(monitor, sigint)
        try:
            yield sigint
        finally:
            _WORKERS.leave(monitor)
        return
    with _on_sigint(sigint, lambda: monitor.stop("SIGINT")):
        yield sigint


@contextmanager
def stop_workers_on_sigint() -> Iterator[Sigint]:
    """On the main thread, while worker threads run episodes (batched rollouts): the first
    SIGINT asks every worker's monitor inside `stop_on_sigint` for a STOP, now or as it
    enters, each episode ending as one on the main thread would (its recording kept); a
    second one raises KeyboardInterrupt."""
    sigint = Sigint()
    try:
        with _on_sigint(sigint, _WORKERS.stop):
            yield sigint
    finally:
        with _WORKERS.lock:
            _WORKERS.stopped = False


@contextmanager
def _on_sigint(sigint: Sigint, stop: Callable[[], None]) -> Iterator[None]:
    """While inside, SIGINT calls ``stop`` once (``sigint.asked``), then raises
    KeyboardInterrupt."""

    def handler(signum, frame):
        if sigint.asked:
            raise KeyboardInterrupt
        sigint.asked = True
        stop()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
