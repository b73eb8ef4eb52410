"""The `Policy` base class: observation history -> action chunk, with min-max normalization.

Every policy (the DiT in `robostack.policies.dit`, the MLP baseline in `robostack.policies.mlp`) is
a torch module with a frozen config dataclass (``config.features`` is the `PolicyFeatures` layout)
and the dataset's normalization stats; it implements `compute_loss` for training and `predict_chunk`
for inference. Shapes are those of `robostack.policies.features`.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

import torch
from torch import nn

from robostack.policies.features import PolicyFeatures, image_key
from robostack.policies.normalize import ChannelNormalizer, MinMaxNormalizer

NORMALIZED = ("state", "environment_state", "language", "action")


class Policy(nn.Module, abc.ABC):
    """A chunk policy.

    Args:
        config: the subclass's `config_class` instance.
        stats: {"state" | "environment_state" | "language" | "action": {"min": [...],
            "max": [...]}}, the training data's per-dimension range (no "environment_state"
            where the policy takes no object state); per camera, "images.<name>": {"mean":
            [3], "std": [3]}, its images' per-channel mean and deviation in [0, 1].
    """

    name: ClassVar[str]
    config_class: ClassVar[type]
    samples: ClassVar[bool] = False  # draws noise to sample a chunk (a diffusion policy)

    def __init__(self, config: Any, stats: dict[str, dict]):
        super().__init__()
        self.config = config
        features: PolicyFeatures = config.features
        sizes = {
            "state": features.state_dim,
            "environment_state": features.environment_dim,
            "language": features.language_dim,
            "action": features.action_dim,
        }
        self.normalizers = nn.ModuleDict()
        self.image_normalizers = nn.ModuleDict()  # per camera name
        for name, _, _ in features.cameras:
            key = image_key(name)
            if key not in stats:
                raise ValueError(f"normalization stats lack {key!r}")
            try:
                self.image_normalizers[name] = ChannelNormalizer.from_stats(stats[key])
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"normalization stats for {key!r}: {error}") from error
        for key in self.normalized_keys():
            self.normalizers[key] = MinMaxNormalizer.for_key(
                stats, key, sizes[key], "the config says"
            )

    @property
    def features(self) -> PolicyFeatures:
        return self.config.features

    def normalized_keys(self) -> list[str]:
        """The keys with min-max stats: `NORMALIZED`, without the object state where E = 0."""
        f = self.features
        return [k for k in NORMALIZED if f.environment_dim or k != "environment_state"]

    def stats(self) -> dict[str, dict]:
        stats = {key: self.normalizers[key].stats() for key in self.normalized_keys()}
        for name, normalizer in self.image_normalizers.items():
            stats[image_key(name)] = normalizer.stats()
        return stats

    def normalized_observation(self, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Check shapes, then map state, environment state (padding stays 0) and the language
        embedding to [-1, 1] over the training data's range: the sentences of one task differ in
        a word or two, and their embeddings only slightly; normalized, they differ fully.
        Images are standardized per channel with their training mean and deviation."""
        self.check_observation(obs)
        out = dict(obs)
        out["state"] = self.normalizers["state"].normalize(obs["state"])
        out["language"] = self.normalizers["language"].normalize(obs["language"])
        if self.features.environment_dim:
            mask = obs["environment_mask"]
            environment = self.normalizers["environment_state"].normalize(obs["environment_state"])
            out["environment_state"] = environment * mask[:, None, :]
        for name, normalizer in self.image_normalizers.items():
            out[image_key(name)] = normalizer.normalize(obs[image_key(name)])
        return out

    def check_observation(self, obs: dict[str, torch.Tensor]) -> None:
        """Raise ValueError naming the first missing key or wrong shape."""
        f = self.features
        keys = f.observation_keys()
        missing = [k for k in keys if k not in obs]
        if missing:
            raise ValueError(f"observation lacks {missing}; it needs {list(keys)}")
        batch = obs["state"].shape[0]
        expected = {
            "state": (batch, f.obs_horizon, f.state_dim),
            "environment_state": (batch, f.obs_horizon, f.environment_dim),
            "environment_mask": (batch, f.environment_dim),
            "language": (batch, f.language_dim),
        }
        for name, height, width in f.cameras:
            expected[image_key(name)] = (batch, f.obs_horizon, 3, height, width)
        for key in keys:
            shape = expected[key]
            if tuple(obs[key].shape) != shape:
                raise ValueError(
                    f"observation {key!r} has shape {tuple(obs[key].shape)}, expected {shape}"
                )

    def forward(
        self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The training loss (`compute_loss`), so DistributedDataParallel can wrap a policy."""
        return self.compute_loss(batch, generator)

    @abc.abstractmethod
    def compute_loss(
        self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Scalar training loss for a batch: the observation keys plus ``action`` (B, Tp, A)."""

    @abc.abstractmethod
    def predict_chunk(
        self,
        obs: dict[str, torch.Tensor],
        *,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, Tp, A) action chunks in robot units for an observation batch. A sampling
        policy draws its noise from ``generator``, or starts from ``noise`` (B, Tp, A) when
        given (a batch of episodes, each with its own); a regression policy uses neither."""


def config_to_dict(config: Any) -> dict:
    return dataclasses.asdict(config)


def config_from_dict(config_class: type, data: dict) -> Any:
    """Build ``config_class`` from its `config_to_dict` form; unknown or missing keys raise."""
    names = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{config_class.__name__} has no fields {unknown}")
    values = dict(data)
    try:
        values["features"] = PolicyFeatures(**values["features"])
        return config_class(**values)
    except (KeyError, TypeError) as error:
        raise ValueError(f"bad {config_class.__name__}: {error}") from error
