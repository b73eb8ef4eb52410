"""What the real-robot backends share: importing a vendor's client, counting lost packets."""

from __future__ import annotations

import importlib
from types import ModuleType

from robostack.core.errors import RobostackError


def import_vendor(module: str, *, extra: str) -> ModuleType:
    """Import the vendor client ``module``; a missing one names the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise RobostackError(
            f"{module} is not installed ({error}): pip install 'robostack[{extra}]'"
        ) from None


def lost_periods(gap: float, period: float) -> int:
    """Control periods lost in a ``gap`` s between two consecutive states ``period`` s apart."""
    return max(round(gap / period) - 1, 0)
