"""Safety reactions and the events that record them."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class Reaction(enum.IntEnum):
    """Graded reactions, in increasing severity (a higher one overrides a lower one).

    DROP: a message from another process was refused; the arm is not affected
    (`robostack.transport`). CLAMP: limit the value and continue. HOLD: decelerate smoothly within
    the acceleration limits and hold position under joint impedance. STOP: damping torque, then
    halt.
    """

    DROP = 0
    CLAMP = 1
    HOLD = 2
    STOP = 3


@dataclass(frozen=True, slots=True)
class SafetyEvent:
    """One safety check firing.

    Attributes:
        t: robot time, s.  tick: loop tick.
        check: which check fired, e.g. ``"torque_limit"``.
        joint: the joint concerned, or None for whole-arm checks.
        value: the offending value (units of the check: rad, rad/s, Nm, m, s).
        limit: the limit it broke, same units.
        reaction: what the monitor did.
        message: a sentence for people.
    """

    t: float
    tick: int
    check: str
    joint: str | None
    value: float
    limit: float
    reaction: Reaction
    message: str

    def to_dict(self) -> dict:
        """JSON-ready form (non-finite values become strings)."""

        def number(x: float) -> float | str:
            return x if math.isfinite(x) else str(x)

        return {
            "t": self.t,
            "tick": self.tick,
            "check": self.check,
            "joint": self.joint,
            "value": number(self.value),
            "limit": number(self.limit),
            "reaction": self.reaction.name,
            "message": self.message,
        }
