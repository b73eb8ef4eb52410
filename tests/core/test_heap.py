"""`frozen_heap`: collections inside it leave the older objects alone, free the new ones, and
a real-time loop runs inside it (a lockstep one does not)."""

from __future__ import annotations

import gc
import threading

from robostack.core.heap import frozen_heap
from robostack.sessions.tracking import TrackingOptions, tracking_session


class _Cycle:
    """An object in a reference cycle (only the collector frees it) that says when it goes."""

    def __init__(self, freed: list[str], name: str):
        self.freed, self.name, self.me = freed, name, self

    def __del__(self):
        self.freed.append(self.name)


def test_garbage_of_before_goes_first_and_a_collection_in_the_block_skips_older_objects():
    freed: list[str] = []
    gc.disable()  # only the collections asked for here (and the block's own) run
    try:
        _Cycle(freed, "garbage")  # unreachable before the block starts
        older = _Cycle(freed, "older")  # dropped inside the block
        with frozen_heap():
            assert freed == ["garbage"] and gc.get_freeze_count() > 0
            del older
            _Cycle(freed, "made inside")
            gc.collect()
            assert freed == ["garbage", "made inside"]  # the older one is out of reach
        assert gc.get_freeze_count() == 0
        gc.collect()
        assert freed == ["garbage", "made inside", "older"]
    finally:
        gc.enable()


def test_the_heap_stays_frozen_until_the_last_of_blocks_running_beside_each_other_ends():
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with frozen_heap():
            entered.set()
            release.wait(30)

    thread = threading.Thread(target=other)
    thread.start()
    try:
        assert entered.wait(30)
        with frozen_heap():
            pass
        assert gc.get_freeze_count() > 0  # the other block still runs
    finally:
        release.set()
        thread.join(30)
    assert gc.get_freeze_count() == 0


def _freeze_counts(*, realtime: bool) -> list[int]:
    """`gc.get_freeze_count` every 10 ticks of a 50-tick tracking run."""
    counts: list[int] = []

    def note(*_) -> bool:
        counts.append(gc.get_freeze_count())
        return False  # run on

    options = TrackingOptions(
        robot="panda", controller="pid", reference="circle", realtime=realtime, record=False
    )
    with tracking_session(options) as session:
        session.loop.run(ticks=50, every=10, on_tick=note)
    return counts


def test_a_real_time_loop_runs_with_the_heap_frozen_and_a_lockstep_one_does_not():
    realtime = _freeze_counts(realtime=True)
    assert len(realtime) == 5 and min(realtime) > 0
    assert gc.get_freeze_count() == 0  # handed back when the run ends
    assert _freeze_counts(realtime=False) == [0] * 5
