"""One episode of a chunk policy, wherever it runs: its observation history and when to predict.

`PolicyRunner` keeps the last To observations of an episode (the first one repeated until
there are To), says when a chunk is due (receding horizon: every Ta observations from the
first; with numbered observations, at the first one of each block of Ta, so that one lost
observation does not lose a chunk) and predicts one. It is shared by the in-process chunk source
(`robostack.runtime.policy_source`) and the policy server of the process split
(`robostack.sessions.policy_server`), so both see and predict exactly alike. Shapes are those of
`robostack.policies.features`.

A policy from cameras encodes each frame once (`FrameEncodings`): a chunk's To frames per camera
include frames an earlier call already encoded (the first frame, repeated until there are To;
the frame before a due one, which `encode_ahead` encodes when it comes, off the chunk's path).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict, deque
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


IMAGE_KINDS = ("blackout", "occlude", "drop")
OCCLUSION_GRID = 8  # occluding patches: cells of an 8 x 8 grid over the frame


@dataclass(frozen=True)
class ImagePerturbation:
    """Take camera observation away from a policy from pixels (partial-observation evaluation).

    ``kind="blackout"``: camera ``camera``'s frames are all zeros. ``kind="occlude"``: black
    patches hide ``share`` of every frame's area: that share of the cells of an
    `OCCLUSION_GRID` x `OCCLUSION_GRID` grid, drawn anew for each frame and camera.
    ``kind="drop"``: each frame of each camera is lost with probability ``share`` and the last
    frame that camera delivered is repeated (the first is always delivered). Every draw comes
    from ``seed``: an episode is perturbed alike on every run.
    """

    kind: str
    share: float = 0.0
    camera: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in IMAGE_KINDS:
            raise ValueError(f"image perturbation kind must be in {IMAGE_KINDS}, got {self.kind!r}")
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"perturbation share must be in [0, 1], got {self.share}")
        if (self.kind == "blackout") != (self.camera is not None):
            raise ValueError("a blackout names its camera; the other kinds take none")


class PolicyRunner:
    """An episode of ``policy`` (see the module doc).

    Args:
        policy: a trained policy (eval mode).
        language: (L,) the task sentence's embedding.
        seed: seeds the sampler's noise.
        options: keyword arguments for ``policy.predict_chunk`` (sampler, steps, guidance).
        perturbation: optional observation corruption: of the state and the object state
            (`ObservationPerturbation`), or of the camera frames (`ImagePerturbation`).
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
        perturbation: ObservationPerturbation | ImagePerturbation | None = None,
        seat: Seat | None = None,
    ):
        f = policy.features
        language = np.asarray(language, np.float32)
        if language.shape != (f.language_dim,):
            raise ValueError(
                f"language embedding has shape {language.shape}, expected ({f.language_dim},)"
            )
        images = isinstance(perturbation, ImagePerturbation)
        if perturbation is not None and not images and not f.environment_dim:
            raise ValueError("observation perturbations need a policy of the object state")
        if images and perturbation.camera not in (None, *(name for name, _, _ in f.cameras)):
            raise ValueError(f"the policy has no camera {perturbation.camera!r} to black out")
        if images and not f.cameras:
            raise ValueError("image perturbations need a policy from cameras")
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
        self._perturb = None if perturbation is None or images else _Perturb(perturbation, policy)
        self._perturb_frames = _PerturbFrames(perturbation) if images else None
        self.encodings = FrameEncodings(policy) if f.cameras and seat is None else None

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
        if self._perturb_frames is not None:
            frames = self._perturb_frames(frames)
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
            options = dict(self.options)
            if self.encodings is not None:
                options["frame_tokens"] = self.encodings(observation)
            batch = self.policy.predict_chunk(observation, generator=self.generator, **options)
            actions, seconds = batch[0].double().numpy(), time.perf_counter() - began
        else:  # the batched call's time, not the wait for the other members' turns
            f = self.features
            noise = torch.randn((1, f.horizon, f.action_dim), generator=self.generator)
            actions, seconds = self.seat.predict(
                observation, noise if self.policy.samples else None
            )
        self.inference_s.append(seconds)
        return actions

    def ahead(self) -> bool:
        """Whether the latest observation's frames will be in the next chunk's (its index is
        one of the To - 1 before the next multiple of Ta) and are worth `encode_ahead`."""
        f = self.features
        if self.encodings is None or not self.observations:
            return False
        return (self.observations - 1) % f.executed >= f.executed - (f.obs_horizon - 1)

    def encode_ahead(self, observation: dict[str, torch.Tensor]) -> None:
        """Encode the newest frames of ``observation`` (a batch from `observation`) now, so the
        chunk that sees them next encodes only its own newest frames."""
        self.encodings(observation, newest_only=True)


class FrameEncodings:
    """Each frame's image-encoder token (`DiTPolicy.encode_frames`), computed once: frames are
    known by their content (a BLAKE2 digest of the pixels, ~0.1 ms for a 96 x 96 frame), the
    last `KEPT` per camera kept."""

    KEPT = 8

    def __init__(self, policy: Policy):
        self.policy = policy
        self.cameras = [name for name, _, _ in policy.features.cameras]
        self.tokens: dict[str, OrderedDict[bytes, torch.Tensor]] = {
            name: OrderedDict() for name in self.cameras
        }
        self.encoded = 0  # frames encoded so far (each camera's frames counted)

    def __call__(
        self, observation: dict[str, torch.Tensor], *, newest_only: bool = False
    ) -> dict[str, torch.Tensor]:
        """{camera: (1, To, d_model)} for a batch-1 ``observation``, encoding only the frames
        not seen before (``newest_only``: encode just the latest step's, return nothing)."""
        out = {}
        for name in self.cameras:
            frames = observation[image_key(name)][0]  # (To, 3, H, W)
            if newest_only:
                frames = frames[-1:]
            keys = [
                hashlib.blake2b(frame.numpy().tobytes(), digest_size=16).digest()
                for frame in frames
            ]
            kept = self.tokens[name]
            missing = list(dict.fromkeys(k for k in keys if k not in kept))
            if missing:
                first = {k: keys.index(k) for k in missing}
                tokens = self.policy.encode_frames(name, frames[[first[k] for k in missing]])
                kept.update(zip(missing, tokens, strict=True))
                self.encoded += len(missing)
            for key in keys:
                kept.move_to_end(key)
            while len(kept) > self.KEPT:
                kept.popitem(last=False)
            if not newest_only:
                out[name] = torch.stack([kept[k] for k in keys])[None]
        return out


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


class _PerturbFrames:
    """Applies an `ImagePerturbation` to each observation's frames {camera: (3, H, W) uint8}."""

    def __init__(self, spec: ImagePerturbation):
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed)
        self.delivered: dict[str, torch.Tensor] = {}

    def __call__(self, frames: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        spec, out = self.spec, {}
        for name, frame in frames.items():
            if spec.kind == "blackout" and name == spec.camera:
                frame = torch.zeros_like(frame)
            elif spec.kind == "occlude":
                frame = self._occluded(frame)
            elif spec.kind == "drop":
                if name in self.delivered and self.rng.random() < spec.share:
                    frame = self.delivered[name]
                self.delivered[name] = frame
            out[name] = frame
        return out

    def _occluded(self, frame: torch.Tensor) -> torch.Tensor:
        """``frame`` with ``share`` of the grid's cells black (cell edges rounded to pixels)."""
        n, (height, width) = OCCLUSION_GRID, frame.shape[1:]
        cells = self.rng.choice(n * n, size=round(self.spec.share * n * n), replace=False)
        rows, columns = np.linspace(0, height, n + 1).round(), np.linspace(0, width, n + 1).round()
        frame = frame.clone()
        for cell in cells:
            i, j = divmod(int(cell), n)
            frame[:, int(rows[i]) : int(rows[i + 1]), int(columns[j]) : int(columns[j + 1])] = 0
        return frame
