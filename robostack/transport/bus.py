"""The LCM bus: opened with a clear error, handled without dying of a signal."""

from __future__ import annotations

from robostack.core.errors import RobostackError


def connect(url: str):
    """An ``lcm.LCM`` on ``url``, or `RobostackError` saying the URL is unusable."""
    import lcm

    try:
        return lcm.LCM(url)
    except RuntimeError as error:
        raise RobostackError(
            f"cannot open LCM at {url!r} ({error}); the default is udpm://239.255.76.67:7667?ttl=0"
        ) from None


def handle(bus, timeout_s: float) -> int:
    """Dispatch the messages that arrive within ``timeout_s`` (0: only those waiting, never
    blocking); the number handled. A signal interrupting the wait (LCM does not retry it)
    counts as none: the caller's loop then sees why (a stop flag)."""
    try:
        return bus.handle_timeout(max(0, round(timeout_s * 1e3)))
    except OSError:
        return 0


def drain(bus, most: int) -> int:
    """Dispatch up to ``most`` waiting messages without blocking; the number handled."""
    handled = 0
    while handled < most and handle(bus, 0) > 0:
        handled += 1
    return handled
