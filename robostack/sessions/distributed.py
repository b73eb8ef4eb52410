"""Episodes spread over a Ray cluster's workers (``--ray ADDRESS``, ``auto`` or ``local``).

`RayCluster` connects (``local`` starts a Ray instance on this machine with a worker per
core; ``auto`` joins the one already running here; anything else is a cluster address) and
`RayCluster.map` runs a function over seeds: one Ray task per batch of seeds, each task a
worker's batched set of environments (`robostack.sessions.evaluation.evaluate.run_episodes`).
Results come back in seed order, one per seed: a worker that dies takes its task with it, and Ray
runs the task again on another worker (up to `RETRIES` times), so an episode is neither lost nor
counted twice, and every seed is run by exactly the task that owns it. What a dead attempt
wrote itself (a recording) stays on its worker's disk, incomplete.

Workers import robostack as the driver does: on this machine they share its environment; on
a cluster, robostack must be installed on every node (its checkpoints and datasets paths must
be where the driver says).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from robostack.core.errors import RobostackError

RETRIES = 3  # a task whose worker died is run again this many times at most


class RayCluster:
    """A connection to a Ray cluster (a context manager; module doc).

    Args:
        address: ``local``, ``auto`` or a Ray address (``host:6379``, ``ray://host:10001``).
        workers: with ``local``, worker processes to start (default: one per core).
        die_once: fault injection for tests: the first task to create this marker file kills
            its worker after its first episode (its retry, and every other task, run normally).
    """

    def __init__(self, address: str, *, workers: int | None = None, die_once: Path | None = None):
        self.address, self.workers, self.die_once = address, workers, die_once

    def __enter__(self) -> RayCluster:
        try:
            import ray
        except ImportError:
            raise RobostackError("--ray needs Ray: pip install -e '.[ray]'") from None
        options = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        try:
            if self.address == "local":
                ray.init(num_cpus=self.workers or os.cpu_count(), **options)
            else:
                ray.init(address=self.address, **options)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise RobostackError(
                f"cannot reach a Ray cluster at {self.address!r}: {error}"
            ) from None
        self._ray = ray
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._ray.shutdown()

    @property
    def size(self) -> int:
        """CPUs the cluster offers (a task takes one)."""
        return int(self._ray.cluster_resources().get("CPU", 1))

    def map(
        self,
        function: Callable[[object, Sequence[int]], list],
        payload: object,
        seeds: Sequence[int],
        *,
        batch: int,
    ) -> Iterator:
        """``function(payload, seeds_of_a_batch)`` (a result per seed, in order) over
        ``seeds`` in batches of ``batch``, as Ray tasks; yields every result in seed order, as
        soon as the batches before it are in (a consumer can write as they come)."""
        ray = self._ray
        task = ray.remote(num_cpus=1, max_retries=RETRIES)(_run_batch)
        batches = [list(seeds[i : i + batch]) for i in range(0, len(seeds), batch)]
        shared = ray.put(payload)  # sent to the cluster once, not with every task
        pending = {
            task.remote(function, shared, part, self.die_once): k for k, part in enumerate(batches)
        }
        arrived: dict[int, list] = {}
        following = 0
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                k = pending.pop(ready[0])
                try:
                    arrived[k] = ray.get(ready[0])
                except ray.exceptions.RayError as error:
                    raise RobostackError(
                        f"a Ray task for seeds {batches[k][0]}..{batches[k][-1]} failed "
                        f"{RETRIES + 1} times: {error}"
                    ) from None
                if len(arrived[k]) != len(batches[k]):
                    raise RobostackError(
                        f"a Ray task returned {len(arrived[k])} results for {len(batches[k])} seeds"
                    )
                while following in arrived:
                    yield from arrived.pop(following)
                    following += 1
        finally:
            for ref in pending:  # an error or an abandoned iteration: stop the rest
                ray.cancel(ref)


def _run_batch(function, payload, seeds: list[int], die_once: Path | None) -> list:
    """The body of a Ray task: ``function`` over ``seeds`` (and the test's fault, if armed)."""
    import torch

    torch.set_num_threads(1)  # a task per core
    if die_once is None:
        return function(payload, seeds)
    first = function(payload, seeds[:1])
    try:
        with open(die_once, "x") as marker:  # exclusive: only one task ever dies
            marker.write(f"worker {os.getpid()} died after seed {seeds[0]}\n")
    except FileExistsError:
        return first + function(payload, seeds[1:])
    os._exit(1)  # the worker dies mid-task, as a crashed node would
