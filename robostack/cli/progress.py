"""Progress of long commands on stderr, whatever stdout is (a terminal, a pipe, a file).

On a terminal, a tqdm bar redrawn in place; elsewhere (stderr piped or written to a log), a
plain line every `LOG_EVERY_S` and one at the end. Stdout stays for the results (and --json).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

LOG_EVERY_S = 10.0


@contextmanager
def progress_bar(
    description: str, *, total: float | None = None, enabled: bool = True, unit: str = "tick"
) -> Iterator[Callable[[int, int], None]]:
    """Yield ``update(done, total)``. ``total``: known from the start when given (the bar then
    never shows an open count); ``enabled`` False: silent."""
    if not enabled:
        yield lambda done, total: None
        return
    if sys.stderr.isatty():
        with _terminal_bar(description, total=total, unit=unit) as update:
            yield update
    else:
        with _log_lines(description, total=total, unit=unit) as update:
            yield update


@contextmanager
def _terminal_bar(description: str, *, total: float | None, unit: str):
    from tqdm import tqdm

    bar = tqdm(desc=description, total=total, unit=unit, file=sys.stderr, leave=False)
    try:

        def update(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield update
    finally:
        bar.close()


@contextmanager
def _log_lines(description: str, *, total: float | None, unit: str):
    began = time.monotonic()
    state = {"done": 0, "total": total, "said": began, "said_done": None}

    def say() -> None:
        of = f"/{state['total']}" if state["total"] else ""
        elapsed = time.monotonic() - began
        print(f"{description}: {state['done']}{of} {unit}s, {elapsed:.0f} s", file=sys.stderr)
        state["said_done"] = state["done"]

    def update(done: int, total: int) -> None:
        state["done"], state["total"] = done, total
        now = time.monotonic()
        if now - state["said"] >= LOG_EVERY_S:
            state["said"] = now
            say()

    say()
    try:
        yield update
    finally:
        if state["done"] != state["said_done"]:
            say()
