"""Exceptions raised at the stack's boundaries: each names the bad value and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable


class RobostackError(Exception):
    """Base class for errors a user can act on (bad input, bad configuration)."""


class SessionFailedError(Exception):
    """A session that began and failed (a process of it died, its recording broke): not bad
    input, since something may have moved. The command exits 1, not 2."""


class UnknownNameError(RobostackError, KeyError):
    """A name (robot, backend, controller, reference, ...) that is not registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind, self.name, self.known = kind, name, sorted(known)
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(self.known)}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class ShapeError(RobostackError, ValueError):
    """An array with the wrong shape."""

    def __init__(self, what: str, got: tuple, expected: tuple):
        super().__init__(f"{what} has shape {tuple(got)}, expected {tuple(expected)}")


class NonFiniteError(RobostackError, ValueError):
    """NaN or Inf where numbers must be finite."""


class LimitError(RobostackError, ValueError):
    """A value outside a joint's allowed range."""

    def __init__(
        self, *, what: str, joint: str, value: float, low: float, high: float, violated: float
    ):
        self.joint, self.value, self.low, self.high, self.violated = (
            joint,
            value,
            low,
            high,
            violated,
        )
        side = "below the lower" if violated == low else "above the upper"
        super().__init__(
            f"{what} for joint {joint} is {value:.4f} rad, {side} limit {violated:.4f} rad "
            f"(allowed [{low:.4f}, {high:.4f}])"
        )


class RobotConnectionError(RobostackError):
    """A real robot (or its stand-in) cannot be reached, or refuses the session."""


class RobotFaultError(RobostackError):
    """The robot reported a fault mid-session: a reflex, a protective or emergency stop, lost
    communication, an expired watchdog. ``check`` names it for the safety event."""

    def __init__(self, check: str, message: str):
        self.check = check
        super().__init__(message)


class ObservationError(RobostackError):
    """An observation a chunk source must not act on (a camera frame too old): the loop HOLDs
    the arm. ``check`` names it for the safety event; ``value`` and ``limit`` in its units."""

    def __init__(self, check: str, message: str, *, value: float, limit: float):
        self.check, self.value, self.limit = check, value, limit
        super().__init__(message)


class GraspFailedError(RobotFaultError):
    """The gripper closed on no object (``grasp_failed``) or let go of the one it held
    (``grasp_lost``): the robot works on, but the episode cannot succeed. `Robot.write` raises
    it after the tick's command went out; the loop HOLDs the arm.

    Attributes:
        width: where the fingers stopped, m.  limit: the nearest width a held object
            allows, m.
    """

    def __init__(self, check: str, message: str, *, width: float, limit: float):
        super().__init__(check, message)
        self.width, self.limit = width, limit
