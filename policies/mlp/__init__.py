"""The MLP regression baseline: `MLPConfig` (configuration.py), `MLPPolicy` (policy.py)."""

from policies.mlp.configuration import MLPConfig
from policies.mlp.policy import MLPPolicy

__all__ = ["MLPConfig", "MLPPolicy"]
