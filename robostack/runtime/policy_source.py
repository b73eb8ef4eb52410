"""A trained policy as the control loop's chunk source, in the loop's own process.

`PolicySource` observes the robot at the policy rate (``features.fps``, 10 Hz) and hands each
observation to a `robostack.policies.runner.PolicyRunner`, which keeps the last To of them and asks
for a chunk every Ta observations (receding horizon: Ta of its Tp waypoints run before the next one
replaces it; the interpolator blends each new chunk in). `chunk_from_actions` turns the policy's
waypoints into the loop's chunk: the first waypoint is one policy step after the observation it
was computed from; the chunk is led by the observed position at the observation time (so its
spline starts where the arm was), carries that time, and its waypoints keep their absolute
times: with a simulated inference latency (lockstep runs) the chunk takes effect ``latency_s``
after its observation and the interpolator joins it where it is by then. A chunk asking more
than the robot's motion limits allow (`robostack.controllers.interpolation.slowed_to_limits`) is
slowed down.

The loop asks this source every ``period`` s (the scheduling resolution, 10 ms): most calls only
observe or wait and return None.

In real time (``background=True``) inference runs in a worker thread: the tick that observes
hands the observation over and returns at once, and the chunk is handed to the loop at the
first tick after inference is done, aligned to its observation time like a simulated latency.
Cameras render off the tick too: the observing tick only asks for the frames
(`robostack.sim.frames.FrameSource.request`: a snapshot of the simulation, rendered by a
render process); the observation joins the history at the first tick after its frames are
rendered, still as the observation of the tick that asked, so no tick waits for a render.
The policy in another process, over LCM, is `robostack.runtime.remote_source`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import torch

from robostack.controllers.interpolation import slowed_to_limits
from robostack.core.errors import RobostackError
from robostack.core.types import JointState, RobotSpec, TrajectoryChunk
from robostack.policies.base import Policy
from robostack.policies.batching import Seat
from robostack.policies.features import PolicyFeatures
from robostack.policies.runner import ImagePerturbation, ObservationPerturbation, PolicyRunner

if TYPE_CHECKING:
    from robostack.runtime.context import EpisodeContext
    from robostack.sim.frames import FrameSource

RESOLUTION_S = 0.01


def chunk_from_actions(
    actions: np.ndarray,
    observed: JointState,
    *,
    features: PolicyFeatures,
    limits: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> TrajectoryChunk:
    """The loop's chunk for a policy's ``actions`` (Tp, dof + 1) (rad, and the gripper width
    m) computed from the observation of ``observed``: the observed position leads at
    ``observed.t``, then the Tp waypoints 1 / fps apart; slowed to ``limits`` (dq_max,
    ddq_max, dddq_max), each (dof,), where the part that will run asks for more. Leading with
    the observed position makes the chunk's spline start where the arm was, instead of
    extrapolating its first segment back to the time it is blended in."""
    t, dof = observed.t, features.action_dim - 1
    chunk = TrajectoryChunk(
        t0=t,
        dt=1.0 / features.fps,
        q=np.vstack([observed.q, actions[:, :dof]]),
        gripper=np.concatenate([actions[:1, dof], actions[:, dof]]),
        obs_time=t,
    )
    # judged: the segments up to the next chunk and its blend (+1: the observed position)
    return slowed_to_limits(chunk, limits, segments=features.executed + 2)


class PolicySource:
    """Chunk source running ``policy`` in this process (see the module doc).

    Args:
        policy: a trained policy (eval mode).
        language: (L,) the task sentence's embedding.
        robot_state: maps the tick's `JointState` to the robot observation (S,)
            (`robostack.core.observations.robot_observation`).
        environment_state: returns the task's object state now, (n,) m, n <= E (not called for a
            policy that takes no object state).
        images: the scene's cameras (`robostack.sim.frames.FrameSource`, {name: (H, W, 3)
            uint8}; a policy with cameras: asked once per observation, at the policy rate;
            in real time through its `request`, rendered off the tick).
        limits: (dq_max, ddq_max, dddq_max), each (dof,), the robot's motion limits.
        latency_s: simulated inference latency, s (>= 0; rounded up to `RESOLUTION_S`).
        seed: seeds the sampler's noise.
        perturbation: optional observation corruption (of the numbers or of the frames).
        options: keyword arguments for ``policy.predict_chunk`` (sampler, steps, guidance).
        background: run inference in a worker thread (real time; module doc).
        seat: predict together with other episodes (a seat at a
            `robostack.policies.batching.ChunkBatcher`).
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
        perturbation: ObservationPerturbation | ImagePerturbation | None = None,
        options: dict | None = None,
        background: bool = False,
        seat: Seat | None = None,
        images: FrameSource | None = None,
    ):
        f = policy.features
        if f.cameras and images is None:
            raise ValueError("a policy with cameras needs their images")
        if f.cameras and background and not images.snapshots:
            raise RobostackError(
                "a real-time session renders its cameras off the control tick, from snapshots of "
                "the simulation, which only MuJoCo offers: use --backend mujoco"
            )
        if latency_s < 0 or latency_s >= f.executed / f.fps:
            raise ValueError(
                f"latency_s must be in [0, {f.executed / f.fps}) s (one chunk period), "
                f"got {latency_s}"
            )
        self.runner = PolicyRunner(
            policy,
            language=language,
            seed=seed,
            options=options,
            perturbation=perturbation,
            seat=seat,
        )
        self.features = f
        self.robot_state, self.environment_state = robot_state, environment_state
        self.images = images
        self.latency_s, self.limits = latency_s, limits
        self.next_observation_t: float | None = None
        self.pending: tuple[float, TrajectoryChunk] | None = None
        self.latency_ms: list[float] = []  # observation -> chunk handed to the loop, wall time
        self._worker = ThreadPoolExecutor(1, "policy") if background else None
        self._inference: Future | None = None
        self._observed_ns = 0  # when the observation of the chunk under way was taken
        # real time, with cameras: observations waiting for their frames (oldest first)
        self._rendering: deque[tuple[JointState, np.ndarray, np.ndarray | None, int, Future]] = (
            deque()
        )

    @property
    def inference_s(self) -> list[float]:
        """Inference time of each chunk so far, s."""
        return self.runner.inference_s

    @property
    def first_observation(self) -> dict[str, torch.Tensor] | None:
        """The observation batch of the first chunk (for the diversity evaluation)."""
        return self.runner.first_observation

    def next_chunk(self, state: JointState) -> TrajectoryChunk | None:
        f = self.features
        if self.next_observation_t is None or state.t >= self.next_observation_t - 1e-9:
            self.next_observation_t = state.t + 1.0 / f.fps
            robot = self.robot_state(state)
            environment = self.environment_state() if f.environment_dim else None
            now = time.perf_counter_ns()
            if f.cameras and self._worker is not None:  # real time: rendered off the tick
                self._rendering.append((state, robot, environment, now, self.images.request()))
            else:
                images = self.images() if f.cameras else None
                self._observe(state, robot, environment, images, now)
        while self._rendering and self._rendering[0][-1].done():
            observed, robot, environment, taken_ns, frames = self._rendering.popleft()
            self._observe(observed, robot, environment, frames.result(), taken_ns)
        chunk = None
        if self._inference is not None and self._inference.done():
            chunk, self._inference = self._inference.result(), None
        elif self.pending is not None and state.t >= self.pending[0] - 1e-9:
            chunk, self.pending = self.pending[1], None
        if chunk is not None:
            self.latency_ms.append((time.perf_counter_ns() - self._observed_ns) / 1e6)
        return chunk

    def _observe(
        self,
        state: JointState,
        robot: np.ndarray,
        environment: np.ndarray | None,
        images: dict[str, np.ndarray] | None,
        taken_ns: int,
    ) -> None:
        """Give the runner the observation of ``state`` (taken at ``taken_ns``, perf counter)
        and start its chunk when one is due."""
        due = self.runner.observe(robot, environment, images=images)
        if due and (self._worker is None or self._inference is None):
            self._observed_ns = taken_ns
        if due and self._worker is None:
            self.pending = (state.t + self.latency_s, self._predict(state))
        elif due and self._inference is None:  # still busy: skip this chunk, keep the last
            self._inference = self._worker.submit(self._predict, state, self.observation())
        elif not due and self._worker is not None and self.runner.ahead():
            # the next chunk sees these frames too: encode them now, off its path
            self._worker.submit(self.runner.encode_ahead, self.observation())

    def observation(self) -> dict[str, torch.Tensor]:
        """The current observation batch (B = 1, `robostack.policies.features` shapes)."""
        return self.runner.observation()

    def _predict(
        self, state: JointState, obs: dict[str, torch.Tensor] | None = None
    ) -> TrajectoryChunk:
        """The chunk for the observation of ``state`` (batch ``obs``, default: the current)."""
        actions = self.runner.predict(obs)
        return chunk_from_actions(actions, state, features=self.features, limits=self.limits)


def policy_source_factory(
    policy: Policy,
    *,
    seed: int,
    latency_s: float = 0.0,
    perturbation: ObservationPerturbation | ImagePerturbation | None = None,
    options: dict | None = None,
    velocity_scale: float = 1.0,
    background: bool = False,
    seat: Seat | None = None,
) -> Callable[[EpisodeContext], PolicySource]:
    """``source`` for `robostack.sessions.episodes.run_episode`: a `PolicySource` for the episode's
    sentence, observations, cameras and limits (the velocity limit times ``velocity_scale``,
    (0, 1]), predicting alone or through ``seat``. A policy whose cameras the scene lacks (or
    has at another resolution) is refused (`CameraMismatchError`) before the loop starts. The
    built sources are kept in the returned callable's ``sources`` list."""
    from robostack.policies.language import embed_sentences

    motion_limits(None, velocity_scale)  # a bad scale is refused before any episode

    def make_source(context: EpisodeContext) -> PolicySource:
        policy.features.check_cameras(context.cameras, where="the scene")
        source = PolicySource(
            policy,
            language=embed_sentences([context.description])[0],
            robot_state=context.robot_state,
            environment_state=context.environment_state,
            limits=motion_limits(context.spec, velocity_scale),
            latency_s=latency_s,
            seed=seed,
            perturbation=perturbation,
            options=options,
            background=background,
            seat=seat,
            images=context.images,
        )
        make_source.sources.append(source)
        return source

    make_source.sources = []
    return make_source


def motion_limits(
    spec: RobotSpec | None, velocity_scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The motion limits a policy's chunks are slowed to: ``spec``'s velocity limit times
    ``velocity_scale`` (checked to be in (0, 1]), its acceleration and jerk limits, each (dof,)
    (None without a spec: only the check)."""
    if not 0.0 < velocity_scale <= 1.0:
        raise ValueError(f"velocity_scale must be in (0, 1], got {velocity_scale}")
    if spec is None:
        return None
    return velocity_scale * spec.dq_max, spec.ddq_max, spec.dddq_max
