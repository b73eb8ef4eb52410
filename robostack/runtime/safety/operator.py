"""The operator's stop: SIGINT (Ctrl-C), SIGTERM or SIGHUP (a `kill`, a closed terminal)
becomes a STOP through the safety monitor, for an episode on the main thread
(`stop_on_signals`) or for episodes on worker threads, whose monitors the main thread stops
together (`stop_workers_on_signals`). The arm is braked and the recording finished either way.

`ONCE_SIGNAL` (SIGUSR1) is the signal of a death: of the process that started this one
(`robostack.launcher.supervisor.follow_supervisor`), which the kernel may deliver once per
exiting thread of that process. It asks for the same STOP, but any number of it count as one,
and it never escalates to an abort: a second Ctrl-C aborts, a second death signal does nothing.
Outside an episode (`follow_once_signal`, process-wide) the first raises KeyboardInterrupt, the
next ones are ignored.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from robostack.runtime.safety.monitor import SafetyMonitor

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
ONCE_SIGNAL = signal.SIGUSR1
ONCE_REASON = "SIGUSR1: the process that started this one ended"


class _Once:
    """Whether this process took its `ONCE_SIGNAL` (``taken``): only the first one counts."""

    taken = False


def follow_once_signal() -> None:
    """Handle `ONCE_SIGNAL` process-wide (module doc): outside an episode the first raises
    KeyboardInterrupt (nothing moves), later ones are ignored; inside, `stop_on_signals` and
    `stop_workers_on_signals` count it with the same flag."""
    signal.signal(ONCE_SIGNAL, _once_outside_episodes)


def _once_outside_episodes(signum, frame) -> None:
    if not _Once.taken:
        _Once.taken = True
        raise KeyboardInterrupt(ONCE_REASON)


class Signalled:
    """Whether a stop signal came inside `stop_on_signals` (``asked``)."""

    asked = False


class _Workers:
    """The episodes inside `stop_on_signals` off the main thread; `stop_workers_on_signals`
    stops them together, and those that join after it did (``stopped``) at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[SafetyMonitor, Signalled] = {}
        self.stopped = False

    def join(self, monitor: SafetyMonitor, signalled: Signalled) -> None:
        with self.lock:
            self.running[monitor] = signalled
            if self.stopped:
                _stop(monitor, signalled)

    def leave(self, monitor: SafetyMonitor) -> None:
        with self.lock:
            self.running.pop(monitor, None)

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            for monitor, signalled in self.running.items():
                _stop(monitor, signalled)


_WORKERS = _Workers()


def _stop(monitor: SafetyMonitor, signalled: Signalled) -> None:
    signalled.asked = True
    monitor.stop("signal")


@contextmanager
def stop_on_signals(monitor: SafetyMonitor) -> Iterator[Signalled]:
    """While inside, the first stop signal asks ``monitor`` for a STOP (the arm is braked and
    the session ends cleanly); a second one raises KeyboardInterrupt. Off the main thread,
    which alone receives signals, ``monitor`` waits for `stop_workers_on_signals` to stop it.
    The yielded `Signalled` tells the caller afterwards, e.g. to run no further episode."""
    signalled = Signalled()
    if threading.current_thread() is not threading.main_thread():
        _WORKERS.join(monitor, signalled)
        try:
            yield signalled
        finally:
            _WORKERS.leave(monitor)
        return
    with _on_stop_signals(signalled, monitor.stop):
        yield signalled


@contextmanager
def stop_workers_on_signals() -> Iterator[Signalled]:
    """On the main thread, while worker threads run episodes (batched rollouts): the first
    stop signal asks every worker's monitor inside `stop_on_signals` for a STOP, now or as it
    enters, each episode ending as one on the main thread would (its recording kept); a
    second one raises KeyboardInterrupt."""
    signalled = Signalled()
    try:
        with _on_stop_signals(signalled, lambda reason: _WORKERS.stop()):
            yield signalled
    finally:
        with _WORKERS.lock:
            _WORKERS.stopped = False


@contextmanager
def _on_stop_signals(signalled: Signalled, stop: Callable[[str], None]) -> Iterator[None]:
    """While inside, the first of `STOP_SIGNALS` calls ``stop(its name)``
    (``signalled.asked``); the next raises KeyboardInterrupt. The first `ONCE_SIGNAL` of the
    process calls ``stop`` unless a stop was asked already; it never raises."""

    def handler(signum, frame):
        if signalled.asked:
            raise KeyboardInterrupt
        signalled.asked = True
        stop(signal.Signals(signum).name)

    def once(signum, frame):
        if _Once.taken:
            return
        _Once.taken = True
        if not signalled.asked:
            signalled.asked = True
            stop(ONCE_REASON)

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    previous[ONCE_SIGNAL] = signal.signal(ONCE_SIGNAL, once)
    try:
        yield
    finally:
        for signum, handler_before in previous.items():
            signal.signal(signum, handler_before)
