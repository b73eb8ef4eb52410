"""One batched policy call for the chunks several episodes ask for at once (batched rollouts).

Episodes stepped in lockstep by threads of one process (`robostack.sessions.evaluation.evaluate`
with
``num_envs``) ask for their chunks at the same robot times. The threads take turns: only the
member whose turn it is runs (a simulation step is mostly Python, and threads contending for
the interpreter would only slow each other down); it runs until it asks for a chunk
(`ChunkBatcher.predict`) or its episode ends (`leave`), then hands the turn on. When every
member still running has asked, one ``predict_chunk`` answers them all and the turns start
over. Each episode brings its own initial diffusion noise
(`robostack.policies.runner.PolicyRunner`), so with a deterministic sampler (DDIM, DPM-Solver++)
every episode gets the chunk it would get alone, up to floating-point summation order; DDPM's
per-step noise then differs.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import torch

from robostack.policies.base import Policy


class ChunkBatcher:
    """Batches ``policy.predict_chunk`` over its members, which take turns (module doc).

    Use: ``seat = batcher.join()`` for each episode before any starts; in the episode's
    thread, ``seat.start()``, then ``seat.predict(...)`` for each chunk, and ``seat.leave()``
    at the end, also on failure.

    Args:
        policy: the policy (eval mode).
        options: keyword arguments for ``predict_chunk`` (sampler, steps, guidance).
    """

    def __init__(self, policy: Policy, *, options: dict | None = None):
        self.policy, self.options = policy, options or {}
        self.batch_sizes: list[int] = []  # of every call made, for reports
        self._members: list[int] = []  # in turn order
        self._joined = 0
        self._turn: int | None = None
        self._requests: dict[int, tuple[dict, torch.Tensor | None]] = {}
        self._results: dict[int, tuple[np.ndarray, float] | BaseException] = {}
        self._lock = threading.Condition()

    def join(self) -> Seat:
        """A new member (an episode that will ask for chunks)."""
        with self._lock:
            member, self._joined = self._joined, self._joined + 1
            self._members.append(member)
            if self._turn is None:
                self._turn = member
            return Seat(self, member)

    def start(self, member: int) -> None:
        """Wait for ``member``'s first turn."""
        with self._lock:
            self._lock.wait_for(lambda: self._turn == member)

    def predict(
        self, member: int, observation: dict[str, torch.Tensor], noise: torch.Tensor | None
    ) -> tuple[np.ndarray, float]:
        """(Tp, A) float64 actions for ``member``'s observation batch (B = 1) and initial
        noise (1, Tp, A) (None for a policy that does not sample), and the batched call's
        time, s; returns on its next turn, once every member has asked. A failed call raises
        its error in every member."""
        with self._lock:
            self._requests[member] = (observation, noise)
            self._hand_on()
            self._lock.wait_for(lambda: self._turn == member and member in self._results)
            result = self._results.pop(member)
        if isinstance(result, BaseException):
            raise result
        return result

    def leave(self, member: int) -> None:
        """``member``'s episode is over (or failed): the turn passes on."""
        with self._lock:
            self._members.remove(member)
            self._requests.pop(member, None)
            if self._turn == member:
                self._hand_on()

    def _hand_on(self) -> None:
        """Give the turn to the next member that has not asked; when all have, answer them
        and give it to the first (the lock held)."""
        waiting = [m for m in self._members if m not in self._requests]
        if waiting:
            later = [m for m in waiting if self._turn is None or m > self._turn]
            self._turn = (later or waiting)[0]
        elif self._members:
            self._answer()
            self._turn = self._members[0]
        else:
            self._turn = None
        self._lock.notify_all()

    def _answer(self) -> None:
        """One call for every request (the lock held); its error, if it fails, for all."""
        members, asked = zip(*self._requests.items(), strict=True)
        self._requests = {}
        began = time.perf_counter()
        try:
            batch = {key: torch.cat([obs[key] for obs, _ in asked]) for key in asked[0][0]}
            noises = [noise for _, noise in asked]
            noise = None if any(n is None for n in noises) else torch.cat(noises)
            actions = self.policy.predict_chunk(batch, noise=noise, **self.options)
        except Exception as error:  # every waiting member raises it (predict)
            self._results.update(dict.fromkeys(members, error))
            return
        seconds = time.perf_counter() - began
        self.batch_sizes.append(len(members))
        for member, chunk in zip(members, actions, strict=True):
            self._results[member] = (chunk.double().numpy(), seconds)


class Seat:
    """One member's handle on a `ChunkBatcher`: ``start``, ``predict``, ``leave``."""

    def __init__(self, batcher: ChunkBatcher, member: int):
        self.batcher, self.member = batcher, member

    def start(self) -> None:
        self.batcher.start(self.member)

    def predict(
        self, observation: dict[str, torch.Tensor], noise: torch.Tensor | None
    ) -> tuple[np.ndarray, float]:
        return self.batcher.predict(self.member, observation, noise)

    def leave(self) -> None:
        self.batcher.leave(self.member)
