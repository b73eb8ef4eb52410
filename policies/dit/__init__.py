"""The DiT diffusion policy: `DiTConfig` (configuration.py), `DiTPolicy` (policy.py), the
denoiser (network.py) and the observation encoder (observation_encoder.py)."""

from robostack.policies.dit.configuration import DiTConfig
from robostack.policies.dit.policy import DiTPolicy

__all__ = ["DiTConfig", "DiTPolicy"]
