"""Policy checkpoints: safetensors weights + JSON config + JSON normalization stats.

A checkpoint is a folder::

    config.json        {"format": "robostack-policy", "version": 1, "policy": "dit",
                        "weights_sha256": "...", "config": {...},
                        "data": {robot, tasks, ...}, "training": {...}}
    stats.json         per-dimension min / max of state, environment_state and action; per
                       camera, its images' per-channel mean and deviation
    model.safetensors  the (EMA) weights, float32 or float16

Loading never unpickles anything. A missing, corrupt, truncated or mismatched file raises
`CheckpointError` naming the file and the problem; so does a config outside its ranges (checked
before any tensor is built) and weights whose SHA-256 differs from config.json's
``weights_sha256`` (a flipped byte). A checkpoint without ``weights_sha256`` loads unchecked.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from robostack.core.errors import RobostackError
from robostack.policies.base import Policy, config_from_dict, config_to_dict
from robostack.policies.registry import policy_class

FORMAT, VERSION = "robostack-policy", 1
CONFIG, STATS, WEIGHTS = "config.json", "stats.json", "model.safetensors"
CHECKSUM = "weights_sha256"  # config.json's key for the SHA-256 of model.safetensors


class CheckpointError(RobostackError):
    """A checkpoint that cannot be loaded; the message says which file and why."""


def save_checkpoint(
    policy: Policy,
    directory: Path,
    *,
    data: dict | None = None,
    training: dict | None = None,
    half: bool = False,
) -> Path:
    """Write ``policy`` to ``directory`` (created; files replaced).

    Args:
        data: what the policy was trained on (robot, tasks and their environment widths).
        training: how (steps, seed, losses); informational.
        half: store weights as float16 (half the size; loaded back as float32).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if half else torch.float32
    tensors = {k: v.detach().to(dtype).contiguous() for k, v in policy.state_dict().items()}
    save_file(tensors, str(directory / WEIGHTS), metadata={"format": FORMAT})
    config = {
        "format": FORMAT,
        "version": VERSION,
        "policy": policy.name,
        CHECKSUM: weights_sha256(directory / WEIGHTS),
        "config": config_to_dict(policy.config),
        "data": data or {},
        "training": training or {},
    }
    (directory / CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    (directory / STATS).write_text(json.dumps(policy.stats(), indent=2) + "\n")
    return directory


def read_checkpoint_config(directory: Path) -> dict:
    """config.json of a checkpoint, checked for format and version."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint {directory} is not a folder")
    config = _read_json(directory / CONFIG)
    if config.get("format") != FORMAT:
        raise CheckpointError(
            f"{directory / CONFIG}: format {config.get('format')!r}, expected {FORMAT!r}"
        )
    if config.get("version") != VERSION:
        raise CheckpointError(
            f"{directory / CONFIG}: version {config.get('version')!r}, this code reads {VERSION}"
        )
    return config


def weights_sha256(path: Path) -> str:
    """The SHA-256 of the file at ``path``, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_policy(directory: Path) -> Policy:
    """The policy in ``directory``, in eval mode, float32 (`CheckpointError` if unusable)."""
    directory = Path(directory)
    config = read_checkpoint_config(directory)
    stats = _read_json(directory / STATS)
    try:  # a config.json edited by hand may break the constructor anywhere
        cls = policy_class(config.get("policy", ""))
        policy = cls(config_from_dict(cls.config_class, config.get("config", {})), stats)
    except (ValueError, TypeError, KeyError, ArithmeticError, NotImplementedError) as error:
        raise CheckpointError(f"{directory / CONFIG} builds no policy: {error}") from None
    except (RuntimeError, MemoryError) as error:  # torch refusing a size the ranges allowed
        raise CheckpointError(f"{directory / CONFIG} builds no policy: {error}") from None
    weights = _read_weights(directory / WEIGHTS, policy.state_dict())
    _check_weights_sha256(directory, config)
    policy.load_state_dict(weights)
    return policy.eval()


def _check_weights_sha256(directory: Path, config: dict) -> None:
    expected = config.get(CHECKSUM)
    if expected is None:
        return  # a checkpoint from before checksums
    got = weights_sha256(directory / WEIGHTS)
    if got != expected:
        raise CheckpointError(
            f"{directory / WEIGHTS} has SHA-256 {got[:16]}..., config.json says "
            f"{str(expected)[:16]}...: the weights were changed or damaged"
        )


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path} is missing")
    try:
        value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error})") from error
    if not isinstance(value, dict):
        raise CheckpointError(f"{path} must hold a JSON object")
    return value


def _read_weights(path: Path, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"{path} is missing")
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path} is corrupt or truncated ({error})") from error
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not match its config: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    out = {}
    for name, tensor in tensors.items():
        want = expected[name]
        if tensor.shape != want.shape:
            raise CheckpointError(
                f"{path}: {name} has shape {tuple(tensor.shape)}, the config needs "
                f"{tuple(want.shape)}"
            )
        if tensor.dtype not in (torch.float16, torch.float32):
            raise CheckpointError(f"{path}: {name} is {tensor.dtype}, expected float16/32")
        tensor = tensor.float()
        if not torch.isfinite(tensor).all():
            raise CheckpointError(f"{path}: {name} holds NaN or Inf")
        out[name] = tensor
    return out
