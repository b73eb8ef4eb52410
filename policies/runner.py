"""One episode of a chunk policy, wherever it runs: its observation history and when to predict.

`PolicyRunner` keeps the last To observations of an episode (the first one repeated until
there are To), says when a chunk is due (receding horizon: every Ta observations from the
first; with numbered observations, at the first one of each block of Ta, so that one lost
observation does not lose a chunk) and predicts one. It is shared by the in-process chunk source
(`robostack.runtime.policy_source`) and the policy server of the process split
(`robostack.sessions.policy_server`), so both see and predict exactly alike. Shapes are those of
`robostack.policies.features`.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from robostack.policies.base import Policy
from robostack.policies.batching import Seat
from robostack.policies.features import image_key


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


class PolicyRunner:
    """An episode of ``policy`` (see the module doc).

    Args:
        policy: a trained policy (eval mode).
        language: (L,) the task sentence's embedding.
        seed: seeds the sampler's noise.
        options: keyword arguments for ``policy.predict_chunk`` (sampler, steps, guidance).
        perturbation: optional observation corruption (of the state and the object state).
        seat: predict through this seat at a `robostack.policies.batching.ChunkBatcher` (with other
            episodes, with the batcher's options), the initial noise drawn here from ``seed``
            as a single call would draw it.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        language: np.ndarray,
        seed: int = 0,
        options: dict | None = None,
        perturbation: ObservationPerturbation | None = None,
        seat: Seat | None = None,
    ):
        f = policy.features
        language = np.asarray(language, np.float32)
        if language.shape != (f.language_dim,):
            raise ValueError(
                f"language embedding has shape {language.shape}, expected ({f.language_dim},)"
            )
        if perturbation is not None and not f.environment_dim:
            raise ValueError("observation perturbations need a policy of the object state")
        self.policy, self.features, self.seat = policy, f, seat
        self.options = options or {}
        self.generator = torch.Generator().manual_seed(seed)
        self.language = torch.from_numpy(language)[None]
        self.history: deque[tuple] = deque(maxlen=f.obs_horizon)  # (robot, environment, images)
        self.observations = 0
        self._answered_block = -1  # index // Ta of the last observation a chunk was due at
        self.inference_s: list[float] = []
        self.first_observation: dict[str, torch.Tensor] | None = None
        self._mask = np.zeros(f.environment_dim, np.float32)
        self._perturb = None if perturbation is None else _Perturb(perturbation, policy)

    def observe(
        self,
        robot: np.ndarray,
        environment: np.ndarray | None,
        *,
        images: dict[str, np.ndarray] | None = None,
        index: int | None = None,
    ) -> bool:
        """Take one observation: ``robot`` (S,) (`robostack.core.observations`), ``environment``
        (n,) the task's object state, n <= E (None for a policy trained without one, E = 0;
        such a policy ignores numbers given to it, unless it sees cameras: a policy from pixels
        refuses them, as nothing may feed it the object state). ``images`` {camera: (H, W, 3)
        uint8} (a policy with cameras; `CameraMismatchError` if one is missing or another
        size). ``index`` is its number in the episode (default: the count so far; increasing).
        Returns True when a chunk is due: the first observation of a new block of Ta (index a
        multiple of Ta, unless that one was lost)."""
        f = self.features
        frames = self._frames(images or {})
        environment = np.asarray([] if environment is None else environment, np.float32)
        if f.environment_dim == 0 and not f.cameras:
            environment = environment[:0]
        if environment.shape[0] > f.environment_dim:
            raise ValueError(
                f"the task state has {environment.shape[0]} numbers, the policy takes at most "
                f"{f.environment_dim}"
            )
        self._mask[:] = np.arange(f.environment_dim) < environment.shape[0]
        robot = np.asarray(robot, np.float32)
        if robot.shape != (f.state_dim,):
            raise ValueError(
                f"the robot state has shape {robot.shape}, the policy was trained on "
                f"({f.state_dim},) (another robot?)"
            )
        environment = np.pad(environment, (0, f.environment_dim - environment.shape[0]))
        if self._perturb is not None:
            robot, environment = self._perturb(robot, environment, self._mask)
        if not self.history:
            self.history.extend([(robot, environment, frames)] * f.obs_horizon)
        self.history.append((robot, environment, frames))
        index = self.observations if index is None else index
        self.observations += 1
        block = index // f.executed
        due, self._answered_block = block > self._answered_block, max(block, self._answered_block)
        return due

    def observation(self) -> dict[str, torch.Tensor]:
        """The current observation batch (B = 1, `robostack.policies.features` shapes)."""
        states, environments, frames = zip(*self.history, strict=True)
        obs = {"state": torch.from_numpy(np.stack(states))[None], "language": self.language}
        if self.features.environment_dim:
            obs["environment_state"] = torch.from_numpy(np.stack(environments))[None]
            obs["environment_mask"] = torch.from_numpy(self._mask.copy())[None]
        for name, _, _ in self.features.cameras:
            steps = torch.stack([step[name] for step in frames])
            obs[image_key(name)] = steps[None].float() / 255.0
        return obs

    def _frames(self, images: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        """The policy's cameras' frames, checked, as (3, H, W) uint8 tensors."""
        f = self.features
        f.check_cameras(
            {name: np.shape(image)[:2] for name, image in images.items()}, where="the observation"
        )
        frames = {}
        for name, height, width in f.cameras:
            image = np.asarray(images[name])
            if image.shape != (height, width, 3) or image.dtype != np.uint8:
                raise ValueError(
                    f"camera {name!r} gave {image.shape} {image.dtype}, expected "
                    f"({height}, {width}, 3) uint8"
                )
            frames[name] = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
        return frames

    def predict(self, observation: dict[str, torch.Tensor] | None = None) -> np.ndarray:
        """(Tp, dof + 1) float64: joint targets rad, the first one policy step after the last
        observation, and the gripper width m. ``observation``: a batch taken earlier by
        `observation` (default: the current one)."""
        observation = self.observation() if observation is None else observation
        if self.first_observation is None:
            self.first_observation = observation
        if self.seat is None:
            began = time.perf_counter()
            batch = self.policy.predict_chunk(observation, generator=self.generator, **self.options)
            actions, seconds = batch[0].double().numpy(), time.perf_counter() - began
        else:  # the batched call's time, not the wait for the other members' turns
            f = self.features
            noise = torch.randn((1, f.horizon, f.action_dim), generator=self.generator)
            actions, seconds = self.seat.predict(
                observation, noise if self.policy.samples else None
            )
        self.inference_s.append(seconds)
        return actions


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
