"""`frozen_heap`: the garbage collector kept off the objects that exist when a real-time loop
starts.

CPython's full (generation 2) collection walks every tracked container while it holds the
interpreter, so every thread of the process waits. In a process with a large heap (a policy, a
simulator, cameras: some 0.5 M objects), one pass takes tens of ms on an idle machine and up to
a second on a loaded 2-core one: longer than a robot-paced read may take (a STOP) and longer
than FCI waits for a command (the robot aborts the motion). `gc.freeze` moves every tracked
object into a permanent generation that collections skip, so a collection during the loop walks
only what the loop allocated; `gc.unfreeze` hands them all back (whoever froze them) once the
last frozen block ends. Automatic collection stays on: cycles made during the loop are still
freed. The first block to start collects first (a full collection before the loop's first
tick, while nothing moves), so no garbage of before waits frozen; objects dropped during the
loop that it did not make wait for the last block's end.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_blocks = 0  # frozen blocks running (loops in several threads each freeze)


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """While the block runs, the objects that exist at its start (and at the start of any
    block running beside it) are out of the collector's reach (module doc)."""
    global _blocks
    with _lock:
        if _blocks == 0:
            gc.collect()
        _blocks += 1
        gc.freeze()
    try:
        yield
    finally:
        with _lock:
            _blocks -= 1
            if _blocks == 0:
                gc.unfreeze()
