"""Which `VirtualArm` a stand-in client reaches at an address: `serve` one, `lookup` it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from robostack.core.errors import RobotConnectionError
from robostack.hardware.rehearsal.virtual.arm import VirtualArm

_SERVED: dict[str, VirtualArm] = {}


@contextmanager
def serve(address: str, arm: VirtualArm) -> Iterator[VirtualArm]:
    """Make ``arm`` reachable at ``address`` for the stand-in clients while the block runs."""
    if address in _SERVED:
        raise ValueError(f"an arm is already served at {address}")
    _SERVED[address] = arm
    try:
        yield arm
    finally:
        del _SERVED[address]


def lookup(address: str) -> VirtualArm:
    """The arm served at ``address``; raises `RobotConnectionError` (connection refused)."""
    try:
        return _SERVED[address]
    except KeyError:
        raise RobotConnectionError(f"connection refused: nothing listens at {address}") from None
