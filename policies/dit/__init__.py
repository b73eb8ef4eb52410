"""The DiT diffusion policy: `DiTConfig` (configuration.py), `DiTPolicy` (policy.py), the
denoiser (network.py) and the observation encoder (observation_encoder.py).

`DiTPolicy` (torch, diffusers) is imported when first asked for, so that reading a
configuration (a launch file's sampler names) costs no torch import."""

from robostack.policies.dit.configuration import DiTConfig

__all__ = ["DiTConfig", "DiTPolicy"]


def __getattr__(name: str):
    if name == "DiTPolicy":
        from robostack.policies.dit.policy import DiTPolicy

        return DiTPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
