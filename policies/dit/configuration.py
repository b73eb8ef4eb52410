"""DiT policy configuration (saved as JSON with every checkpoint)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from robostack.policies.features import PolicyFeatures, check_parameter_budget, check_ranges

SAMPLERS = ("ddpm", "ddim", "dpmsolver")
PROPRIOCEPTION = ("full", "positions")


@dataclass(frozen=True)
class DiTConfig:
    """Network size, noise schedule and sampling defaults.

    Attributes:
        features: input/output layout.
        d_model, n_heads, n_layers: the denoiser's width, heads and DiT blocks.
        n_obs_layers: transformer layers over the observation tokens before pooling.
        mlp_ratio: MLP hidden width / d_model.  dropout: in attention and MLPs.
        train_timesteps: diffusion steps of the DDPM noise schedule.
        beta_schedule: diffusers' schedule name ("squaredcos_cap_v2" = cosine).
        condition_drop: probability of training a sample without its observation
            (classifier-free guidance).
        sampler: "ddpm" (all train steps), "ddim" or "dpmsolver" (DPM-Solver++).
        sampling_steps: network calls per chunk for ddim / dpmsolver.
        guidance_scale: classifier-free guidance weight; 1 = plain conditional sampling.
        image_width: with cameras, the image trunk's first-stage channels (64: ResNet-18's;
            `robostack.policies.dit.image_encoder`). 16 by default: with two 96 px cameras a
            DDIM-10 chunk costs ~1.2 times the state DiT's CPU time (64: ~2.3 times, at the
            edge of 20 ms on two CPU threads), and the weights of two trunks take 3.1 M
            parameters (a checkpoint under 10 MB in float16).
        keypoints: spatial-softmax keypoints per camera.
        crop_ratio: side of the image crop the encoder sees (random in training, centred in
            inference), a share of the image side, in (0, 1].
        proprioception: what the state token reads of ``state``: "full" (q, dq, gripper, tool
            position) or "positions" (without the joint velocities dq). A policy from cameras
            takes "positions": with the arm's velocity in view it learns to continue the
            expert's motion, and the goal, which only the images show, goes unread.
        probe_dim: for a policy that takes no object state (from cameras): the width of the
            object state a linear probe of the observation embedding learns to predict in
            training (the data's, normalized; `robostack.policies.training.data`), so the
            embedding is made to locate the objects the images show. Inference never reads
            it. 0: no probe.
        probe_weight: the probe's squared error's weight beside the denoising loss.
    """

    features: PolicyFeatures
    d_model: int = 128
    n_heads: int = 4
    n_layers: int = 4
    n_obs_layers: int = 2
    mlp_ratio: int = 4
    dropout: float = 0.0
    train_timesteps: int = 100
    beta_schedule: str = "squaredcos_cap_v2"
    condition_drop: float = 0.1
    sampler: str = "ddim"
    sampling_steps: int = 10
    guidance_scale: float = 1.0
    image_width: int = 16
    keypoints: int = 32
    crop_ratio: float = 0.9
    proprioception: str = "full"
    probe_dim: int = 0
    probe_weight: float = 1.0

    RANGES: ClassVar[dict[str, tuple[float, float]]] = {
        "d_model": (1, 4096),
        "n_heads": (1, 64),
        "n_layers": (1, 64),
        "n_obs_layers": (0, 64),
        "mlp_ratio": (1, 16),
        "dropout": (0.0, 0.99),
        "train_timesteps": (1, 10000),
        "guidance_scale": (0.0, 100.0),
        "probe_dim": (0, 4096),
        "probe_weight": (0.0, 100.0),
    }

    def __post_init__(self) -> None:
        check_ranges(self, self.RANGES)
        blocks = self.n_layers + self.n_obs_layers
        check_parameter_budget("the DiT", blocks * (10 + 2 * self.mlp_ratio) * self.d_model**2)
        if self.image_width < 4 or self.keypoints < 1 or not 0.0 < self.crop_ratio <= 1.0:
            raise ValueError(
                "need image_width >= 4, keypoints >= 1 and crop_ratio in (0, 1], got "
                f"{self.image_width}, {self.keypoints}, {self.crop_ratio}"
            )
        if self.probe_dim and self.features.environment_dim:
            raise ValueError(
                "probe_dim is for a policy that takes no object state; this one reads "
                f"{self.features.environment_dim} numbers of it"
            )
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if self.proprioception not in PROPRIOCEPTION:
            raise ValueError(
                f"proprioception must be one of {PROPRIOCEPTION}, got {self.proprioception!r}"
            )
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {self.sampler!r}")
        if not 1 <= self.sampling_steps <= self.train_timesteps:
            raise ValueError(
                f"sampling_steps must be in [1, {self.train_timesteps}], got {self.sampling_steps}"
            )
        if not 0.0 <= self.condition_drop < 1.0:
            raise ValueError(f"condition_drop must be in [0, 1), got {self.condition_drop}")
