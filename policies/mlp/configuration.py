"""MLP baseline configuration (saved as JSON with every checkpoint)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from robostack.policies.features import PolicyFeatures, check_parameter_budget, check_ranges


@dataclass(frozen=True)
class MLPConfig:
    """Attributes: features (input/output layout); hidden (width of each hidden layer);
    layers (hidden layers); dropout."""

    features: PolicyFeatures
    hidden: int = 512
    layers: int = 3
    dropout: float = 0.0

    RANGES: ClassVar[dict[str, tuple[float, float]]] = {
        "hidden": (1, 16384),
        "layers": (1, 64),
        "dropout": (0.0, 0.99),
    }

    def __post_init__(self) -> None:
        if self.features.cameras or not self.features.environment_dim:
            raise ValueError("the MLP baseline takes the object state and no camera images")
        check_ranges(self, self.RANGES)
        f = self.features
        width = f.obs_horizon * (f.state_dim + 2 * f.environment_dim) + f.language_dim
        check_parameter_budget(
            "the MLP", self.hidden * (width + self.layers * self.hidden + f.horizon * f.action_dim)
        )
