"""Batched chunk prediction: members take turns, one call answers all, each as if alone."""

from __future__ import annotations

import threading

import numpy as np

from robostack.policies.batching import ChunkBatcher
from robostack.policies.runner import PolicyRunner
from tests.policies.helpers import FEATURES, randomize_outputs, tiny_dit

OPTIONS = {"sampler": "ddim", "steps": 4}
JOIN_S = 120  # for a member thread to end, on a machine as loaded as it may be


def _policy():
    policy = tiny_dit()
    randomize_outputs(policy)
    return policy


def _observe(runner: PolicyRunner, value: float) -> None:
    runner.observe(np.full(FEATURES.state_dim, value), np.full(2, value))


def test_one_call_answers_every_member_as_each_would_be_answered_alone():
    policy = _policy()
    language = np.linspace(-1, 1, FEATURES.language_dim)
    alone = []
    for k in range(3):
        runner = PolicyRunner(policy, language=language, seed=k, options=OPTIONS)
        _observe(runner, 0.1 * k)
        alone.append(runner.predict())
    batcher = ChunkBatcher(policy, options=OPTIONS)
    seats = [batcher.join() for _ in range(3)]
    together, order = [None] * 3, []

    def member(k: int) -> None:
        seats[k].start()
        order.append(k)
        runner = PolicyRunner(policy, language=language, seed=k, seat=seats[k])
        _observe(runner, 0.1 * k)
        together[k] = runner.predict()
        order.append(k)
        seats[k].leave()

    _run_in_threads(member, 3)
    assert batcher.batch_sizes == [3]
    assert order == [0, 1, 2, 0, 1, 2]  # one at a time, in turn
    for k in range(3):
        assert np.allclose(together[k], alone[k], atol=1e-5)


def test_a_member_that_leaves_is_not_waited_for():
    policy = _policy()
    batcher = ChunkBatcher(policy, options=OPTIONS)
    first, second = batcher.join(), batcher.join()
    answered = []

    def asks() -> None:
        first.start()
        runner = PolicyRunner(policy, language=np.zeros(FEATURES.language_dim), seat=first)
        _observe(runner, 0.0)
        answered.append(runner.predict())
        first.leave()

    thread = threading.Thread(target=asks)
    thread.start()
    second.start()  # the first has asked: the turn is the second's
    second.leave()  # ... which ends without asking
    thread.join(timeout=JOIN_S)
    assert len(answered) == 1 and batcher.batch_sizes == [1]


def test_a_failed_call_raises_in_every_member_instead_of_hanging_them():
    policy = _policy()

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    policy.predict_chunk = broken
    batcher = ChunkBatcher(policy, options=OPTIONS)
    seats = [batcher.join() for _ in range(2)]
    errors = []

    def member(k: int) -> None:
        seats[k].start()
        runner = PolicyRunner(policy, language=np.zeros(FEATURES.language_dim), seat=seats[k])
        _observe(runner, 0.0)
        try:
            runner.predict()
        except RuntimeError as error:
            errors.append(str(error))
        finally:
            seats[k].leave()

    threads = _run_in_threads(member, 2)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == ["out of memory"] * 2


def _run_in_threads(member, n: int) -> list[threading.Thread]:
    """Run ``member(k)`` for k < n in n threads, joined (`JOIN_S` each); the threads."""
    threads = [threading.Thread(target=member, args=(k,)) for k in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_S)
    return threads
