"""A trained policy as the control loop's chunk source.

`PolicySource` observes the robot at the policy rate (``features.fps``, 10 Hz), keeps the last
To observations, and every Ta observations asks the policy for a chunk (receding horizon: Ta of
its Tp waypoints run before the next one replaces it; the interpolator blends each new chunk in).
The policy's first waypoint is one policy step after the observation it was computed from; the
chunk is led by the observed position at the observation time (so its spline starts where the
arm was), carries that time, and its waypoints keep their absolute times: with a
simulated inference latency (lockstep runs) the chunk takes effect ``latency_s`` after its
observation and the interpolator joins it where it is by then. A chunk asking more than the
robot's motion limits allow (`controllers.interpolation.slowed_to_limits`) is slowed down.

The loop asks this source every ``period`` s (the scheduling resolution, 10 ms): most calls only
observe or wait and return None.

In real time (``background=True``, real robots) inference runs in a worker thread: the tick
that observes hands the observation over and returns at once, and the chunk is handed to the
loop at the first tick after inference is done, aligned to its observation time like a
simulated latency. (Inference in another process, over LCM, is issue 8.)
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from controllers.interpolation import slowed_to_limits
from policies.base import Policy
from robostack.types import JointState, TrajectoryChunk

if TYPE_CHECKING:
    from robostack.episodes import EpisodeContext

RESOLUTION_S = 0.01


@dataclass(frozen=True)
class ObservationPerturbation:
    """Hide or corrupt a share of the observation's dimensions (robustness evaluation).

    The dimensions are the state's (q, dq, gripper) and the task state's real ones; ``share``
    of them, drawn once per episode from ``seed``, are affected at every observation:
    ``kind="mask"`` replaces each by the middle of its training range (task-state dimensions are
    also flagged absent in the mask); ``kind="noise"`` adds Gaussian noise with a standard
    deviation of a quarter of its training range.
    """

    kind: str
    share: float
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("mask", "noise"):
            raise ValueError(f"perturbation kind must be 'mask' or 'noise', got {self.kind!r}")
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"perturbation share must be in [0, 1], got {self.share}")


class PolicySource:
    """Chunk source running ``policy`` (see the module doc).

    Args:
        policy: a trained policy (eval mode).
        language: (L,) the task sentence's embedding.
        robot_state: maps the tick's `JointState` to the robot observation (S,)
            (`robostack.observations.robot_observation`).
        environment_state: returns the task's object state now, (n,) m, n <= E.
        limits: (dq_max, ddq_max, dddq_max), each (dof,), the robot's motion limits.
        latency_s: simulated inference latency, s (>= 0; rounded up to `RESOLUTION_S`).
        seed: seeds the sampler's noise.
        perturbation: optional observation corruption.
        options: keyword arguments for ``policy.predict_chunk`` (sampler, steps, guidance).
        background: run inference in a worker thread (real time; module doc).
    """

    period = RESOLUTION_S

    def __init__(
        self,
        policy: Policy,
        *,
        language: np.ndarray,
        robot_state: Callable[[JointState], np.ndarray],
        environment_state: Callable[[], np.ndarray],
        limits: tuple[np.ndarray, np.ndarray, np.ndarray],
        latency_s: float = 0.0,
        seed: int = 0,
        perturbation: ObservationPerturbation | None = None,
        options: dict | None = None,
        background: bool = False,
    ):
        f = policy.features
        if latency_s < 0 or latency_s >= f.executed / f.fps:
            raise ValueError(
                f"latency_s must be in [0, {f.executed / f.fps}) s (one chunk period), "
                f"got {latency_s}"
            )
        language = np.asarray(language, np.float32)
        if language.shape != (f.language_dim,):
            raise ValueError(
                f"language embedding has shape {language.shape}, expected ({f.language_dim},)"
            )
        self.policy, self.features = policy, f
        self.robot_state, self.environment_state = robot_state, environment_state
        self.latency_s, self.limits = latency_s, limits
        self.options = options or {}
        self.generator = torch.Generator().manual_seed(seed)
        self.language = torch.from_numpy(language)[None]
        self.history: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=f.obs_horizon)
        self.next_observation_t: float | None = None
        self.observations = 0
        self.pending: tuple[float, TrajectoryChunk] | None = None
        self.inference_s: list[float] = []
        self.first_observation: dict[str, torch.Tensor] | None = None
        self._mask = np.zeros(f.environment_dim, np.float32)
        self._perturb = None if perturbation is None else _Perturb(perturbation, policy)
        self._worker = ThreadPoolExecutor(1, "policy") if background else None
        self._inference: Future | None = None

    def next_chunk(self, state: JointState) -> TrajectoryChunk | None:
        step = 1.0 / self.features.fps
        if self.next_observation_t is None or state.t >= self.next_observation_t - 1e-9:
            self.next_observation_t = state.t + step
            self._observe(state)
            if (self.observations - 1) % self.features.executed == 0:
                if self._worker is None:
                    self.pending = (state.t + self.latency_s, self._predict(state))
                elif self._inference is None:  # still busy: skip this chunk, keep the last
                    self._inference = self._worker.submit(self._predict, state, self.observation())
        if self._inference is not None and self._inference.done():
            chunk, self._inference = self._inference.result(), None
            return chunk
        if self.pending is not None and state.t >= self.pending[0] - 1e-9:
            chunk, self.pending = self.pending[1], None
            return chunk
        return None

    def observation(self) -> dict[str, torch.Tensor]:
        """The current observation batch (B = 1, `policies.features` shapes)."""
        states, environments = zip(*self.history, strict=True)
        return {
            "state": torch.from_numpy(np.stack(states))[None],
            "environment_state": torch.from_numpy(np.stack(environments))[None],
            "environment_mask": torch.from_numpy(self._mask)[None],
            "language": self.language,
        }

    def _observe(self, state: JointState) -> None:
        f = self.features
        environment = np.asarray(self.environment_state(), np.float32)
        if environment.shape[0] > f.environment_dim:
            raise ValueError(
                f"the task state has {environment.shape[0]} numbers, the policy takes at most "
                f"{f.environment_dim}"
            )
        self._mask[:] = np.arange(f.environment_dim) < environment.shape[0]
        robot = np.asarray(self.robot_state(state), np.float32)
        if robot.shape != (f.state_dim,):
            raise ValueError(
                f"the robot state has shape {robot.shape}, the policy was trained on "
                f"({f.state_dim},) (another robot?)"
            )
        environment = np.pad(environment, (0, f.environment_dim - environment.shape[0]))
        if self._perturb is not None:
            robot, environment = self._perturb(robot, environment, self._mask)
        if not self.history:
            self.history.extend([(robot, environment)] * f.obs_horizon)
        self.history.append((robot, environment))
        self.observations += 1

    def _predict(
        self, state: JointState, obs: dict[str, torch.Tensor] | None = None
    ) -> TrajectoryChunk:
        """The policy's Tp waypoints from ``state.t`` + 1 / fps on, led by the observed
        position at ``state.t``: the chunk's spline then starts where the arm is, instead of
        extrapolating its first segment back to the time it is blended in. ``obs``: the
        observation batch (default: the current one)."""
        t = state.t
        obs = self.observation() if obs is None else obs
        if self.first_observation is None:
            self.first_observation = obs
        began = time.perf_counter()
        chunk = self.policy.predict_chunk(obs, generator=self.generator, **self.options)[0]
        self.inference_s.append(time.perf_counter() - began)
        chunk = chunk.double().numpy()
        dof = self.features.action_dim - 1
        chunk = TrajectoryChunk(
            t0=t,
            dt=1.0 / self.features.fps,
            q=np.vstack([state.q, chunk[:, :dof]]),
            gripper=np.concatenate([chunk[:1, dof], chunk[:, dof]]),
            obs_time=t,
        )
        # judged: the segments up to the next chunk and its blend (+1: the observed position)
        return slowed_to_limits(chunk, self.limits, segments=self.features.executed + 2)


def policy_source_factory(
    policy: Policy,
    *,
    seed: int,
    latency_s: float = 0.0,
    perturbation: ObservationPerturbation | None = None,
    options: dict | None = None,
    velocity_scale: float = 1.0,
    background: bool = False,
) -> Callable[[EpisodeContext], PolicySource]:
    """``source`` for `robostack.episodes.run_episode`: a `PolicySource` for the episode's
    sentence, observations and limits (the velocity limit times ``velocity_scale``, (0, 1]).
    The built sources are kept in the returned callable's ``sources`` list."""
    from policies.language import embed_sentences

    if not 0.0 < velocity_scale <= 1.0:
        raise ValueError(f"velocity_scale must be in (0, 1], got {velocity_scale}")

    def make_source(context: EpisodeContext) -> PolicySource:
        spec = context.spec
        source = PolicySource(
            policy,
            language=embed_sentences([context.description])[0],
            robot_state=context.robot_state,
            environment_state=context.environment_state,
            limits=(velocity_scale * spec.dq_max, spec.ddq_max, spec.dddq_max),
            latency_s=latency_s,
            seed=seed,
            perturbation=perturbation,
            options=options,
            background=background,
        )
        make_source.sources.append(source)
        return source

    make_source.sources = []
    return make_source


class _Perturb:
    """Applies an `ObservationPerturbation` with the policy's training ranges."""

    def __init__(self, spec: ObservationPerturbation, policy: Policy):
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed)
        self.state_range = (policy.normalizers["state"].lo, policy.normalizers["state"].hi)
        self.env_range = (
            policy.normalizers["environment_state"].lo,
            policy.normalizers["environment_state"].hi,
        )
        self.chosen: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, robot: np.ndarray, environment: np.ndarray, mask: np.ndarray):
        if self.chosen is None:
            real = np.concatenate([np.ones_like(robot), mask]) > 0
            dims = np.flatnonzero(real)
            picked = self.rng.choice(dims, size=round(self.spec.share * dims.size), replace=False)
            flags = np.zeros(real.size, bool)
            flags[picked] = True
            self.chosen = (flags[: robot.size], flags[robot.size :])
        robot, environment = robot.copy(), environment.copy()
        for values, chosen, (lo, hi) in (
            (robot, self.chosen[0], self.state_range),
            (environment, self.chosen[1], self.env_range),
        ):
            if self.spec.kind == "mask":
                values[chosen] = ((lo + hi) / 2)[chosen]
            else:
                noise = self.rng.normal(size=values.size).astype(np.float32) * (hi - lo) / 4
                values[chosen] += noise[chosen]
        if self.spec.kind == "mask":
            mask[self.chosen[1]] = 0.0
        return robot, environment
