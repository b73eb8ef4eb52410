"""Shared by the virtual-controller tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from robostack.core.paths import CHECKPOINTS, LAUNCH_FILES
from robostack.hardware.rehearsal.virtual.process import inject, virtual_controller
from robostack.hardware.rehearsal.virtual.server import request
from tests.conftest import in_background
from tests.hardware.helpers import LOADED_LOST_COMMANDS, for_a_loaded_machine


@contextmanager
def virtual_franka(address: str, *, extra: tuple[str, ...] = ()) -> Iterator[str]:
    """A virtual Franka (its own process) serving ``address`` while the block runs, with
    `LOADED_LOST_COMMANDS` (the bounds of a shared machine); ``extra``: more of
    ``robostack virtual-robot``'s options. Yields ``address``."""
    lost = ("--lost-commands", str(LOADED_LOST_COMMANDS))
    with virtual_controller("franka", address, extra=(*lost, *extra)):
        yield address


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


def franka_launch_file(tmp_path, *, command_mode: str | None = None) -> str:
    """launch/franka_fci.toml but for a fixed seed, the checkpoint's path, the runs folder, no
    real-time kernel (libfranka's check: ignore), the bounds of a shared machine
    (`for_a_loaded_machine`; the virtual controller resumes its schedule after a pause) and,
    given one, the ``command_mode``; written to ``tmp_path``, its path."""
    text = (LAUNCH_FILES / "franka_fci.toml").read_text()
    text = text.replace('task = "reach"', 'task = "reach"\nseed = 3', 1)
    text = text.replace('checkpoint = "reach"', f'checkpoint = "{CHECKPOINTS / "reach"}"')
    text = text.replace("enabled = true", f'enabled = true\nruns_dir = "{tmp_path}"')
    text = for_a_loaded_machine(text)
    connection = 'realtime = "ignore"\n'
    if command_mode is not None:
        connection += f'command_mode = "{command_mode}"\n'
    text = text.replace("[connection]\n", f"[connection]\n{connection}", 1)
    path = tmp_path / "franka_fci.toml"
    path.write_text(text)
    return str(path)
