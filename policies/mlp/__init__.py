"""The MLP regression baseline: `MLPConfig` (configuration.py), `MLPPolicy` (policy.py)."""

from robostack.policies.mlp.configuration import MLPConfig
from robostack.policies.mlp.policy import MLPPolicy

__all__ = ["MLPConfig", "MLPPolicy"]
