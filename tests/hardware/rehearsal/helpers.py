"""Shared by the virtual-controller tests."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager

import numpy as np

from robostack.hardware.rehearsal.virtual.process import inject
from robostack.hardware.rehearsal.virtual.server import request
from tests.conftest import in_background


@contextmanager
def inject_once_moving(address: str, fault: str, *, moved: float = 0.05, start=None):
    """While the block runs, inject ``fault`` as soon as the arm has moved ``moved`` rad from
    where it stood at entry: the policy's episode (the start move begins at the start pose).
    With ``start`` (the start pose, when the arm stands elsewhere at entry): from ``start``,
    once the start move has brought the arm there."""
    status = lambda: json.loads(request(address, "status"))  # noqa: E731
    q0 = np.array(status()["q"] if start is None else start)
    arrived = start is None

    def watch(done: threading.Event) -> None:
        nonlocal arrived
        while not done.wait(0.01):
            error = np.abs(np.array(status()["q"]) - q0).max()
            arrived = arrived or error < moved / 2
            if arrived and error > moved:
                inject(address, fault)
                return

    with in_background(watch):
        yield
