"""MLP baseline configuration (saved as JSON with every checkpoint)."""

from __future__ import annotations

from dataclasses import dataclass

from robostack.policies.features import PolicyFeatures


@dataclass(frozen=True)
class MLPConfig:
    """Attributes: features (input/output layout); hidden (width of each hidden layer);
    layers (hidden layers); dropout."""

    features: PolicyFeatures
    hidden: int = 512
    layers: int = 3
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.features.cameras or not self.features.environment_dim:
            raise ValueError("the MLP baseline takes the object state and no camera images")
        if self.hidden < 1 or self.layers < 1:
            raise ValueError(f"hidden and layers must be >= 1, got {self.hidden}, {self.layers}")
