"""Policy names -> classes: what ``--policy`` and a checkpoint's config.json name."""

from __future__ import annotations

from robostack.policies.base import Policy
from robostack.policies.dit import DiTPolicy
from robostack.policies.mlp import MLPPolicy

POLICIES: dict[str, type[Policy]] = {"dit": DiTPolicy, "mlp": MLPPolicy}


def policy_class(name: str) -> type[Policy]:
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; known: {', '.join(POLICIES)}")
    return POLICIES[name]
