"""A progress bar on stderr for long commands (silent when stderr is not a terminal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(
    description: str, *, enabled: bool = True, unit: str = "tick"
) -> Iterator[Callable[[int, int], None]]:
    """Yield ``update(done, total)``; draws a tqdm bar when enabled and on a terminal."""
    from tqdm import tqdm

    bar = tqdm(desc=description, unit=unit, disable=None if enabled else True, leave=False)
    try:

        def update(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield update
    finally:
        bar.close()
