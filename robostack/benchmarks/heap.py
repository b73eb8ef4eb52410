"""What a full garbage collection costs a real-time loop, with and without `frozen_heap`.

In one run: the process holds ``objects`` more tracked containers (a large heap, as a policy, a
simulator and their imports make one); a full (generation 2) collection is timed ``times``
times as the heap stands, then as much inside `robostack.core.heap.frozen_heap`, where real-time
loops run, after the block has made ``made`` new containers of its own (what a loop allocates
and keeps). Every thread of the process waits for a collection, the control loop's too.
"""

from __future__ import annotations

import gc
import time

import numpy as np

from robostack.core.heap import frozen_heap


def _collections_ms(times: int) -> np.ndarray:
    durations = []
    for _ in range(times):
        start = time.perf_counter()
        gc.collect()
        durations.append(time.perf_counter() - start)
    return np.array(durations) * 1e3


def bench_heap(*, objects: int = 500_000, made: int = 10_000, times: int = 5) -> dict:
    """Median and worst full-collection time, ms, as the heap stands and frozen, their ratio,
    and how many objects the collector tracks (with the ``objects`` added)."""
    heap = [[i] for i in range(objects)]
    tracked = len(gc.get_objects())
    loose = _collections_ms(times)
    with frozen_heap():
        new = [[i] for i in range(made)]
        frozen = _collections_ms(times)
    del heap, new
    return {
        "objects_added": objects,
        "made_in_the_block": made,
        "tracked": tracked,
        "full_collection_ms": {"median": float(np.median(loose)), "max": float(loose.max())},
        "frozen_collection_ms": {"median": float(np.median(frozen)), "max": float(frozen.max())},
        "ratio_median": float(np.median(loose) / max(np.median(frozen), 1e-6)),
    }
