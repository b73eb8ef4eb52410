"""Observation tokens -> one pooled conditioning vector (run once per chunk, not per step).

Tokens: one per observation step for proprioception (with or without the joint velocities), one per
step for the task/object state (values and their padding mask; none where the policy takes no object
state), one for the language-goal embedding, and one per camera and step from that camera's
`ImageEncoder` (images cropped first: `robostack.policies.dit.image_encoder.crop`). Each gets a
modality embedding (one per camera) and a step embedding; a small transformer mixes them and their
mean is the observation embedding (B, d_model).
"""

from __future__ import annotations

import torch
from torch import nn

from robostack.policies.dit.image_encoder import ImageEncoder, crop
from robostack.policies.features import PolicyFeatures, image_key


class ObservationEncoder(nn.Module):
    """Normalized observation dict (`robostack.policies.features` shapes) -> (B, d_model).

    Args:
        features: the layout.  d_model, n_heads, n_layers: the mixer's width, heads, layers.
        image_width: the image trunk's first-stage channels (64: ResNet-18).
        keypoints: spatial-softmax keypoints per camera.
        crop_ratio: the side of the crop an image encoder sees, a share of the image's.
        velocities: whether the state token reads the joint velocities dq (False: q, gripper
            width and tool position only).
    """

    def __init__(
        self,
        features: PolicyFeatures,
        d_model: int,
        n_heads: int,
        n_layers: int,
        *,
        image_width: int = 64,
        keypoints: int = 32,
        crop_ratio: float = 1.0,
        velocities: bool = True,
    ):
        super().__init__()
        f = features
        dof = f.action_dim - 1  # state: q (dof), dq (dof), gripper width, tool position (3)
        read = [i for i in range(f.state_dim) if velocities or not dof <= i < 2 * dof]
        self.register_buffer("state_columns", torch.tensor(read), persistent=False)
        self.state = nn.Linear(len(read), d_model)
        # values and mask; no token without object state
        self.environment = nn.Linear(2 * f.environment_dim, d_model) if f.environment_dim else None
        self.language = nn.Linear(f.language_dim, d_model)
        self.images = nn.ModuleDict(
            {
                name: ImageEncoder(d_model, width=image_width, keypoints=keypoints)
                for name, _, _ in f.cameras
            }
        )
        self.crops = {
            name: (round(crop_ratio * h), round(crop_ratio * w)) for name, h, w in f.cameras
        }
        modalities = 3 + len(f.cameras)  # state, object state, language, cameras
        self.modality = nn.Parameter(torch.randn(modalities, d_model) * 0.02)
        self.step = nn.Parameter(torch.randn(f.obs_horizon, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, 4 * d_model, dropout=0.0, batch_first=True, norm_first=True
        )
        self.mixer = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)

    def forward(
        self,
        obs: dict[str, torch.Tensor],
        generator=None,
        frame_tokens: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """``generator`` draws the training crops. ``frame_tokens`` {camera: (B, To, d_model)}:
        cameras' frames already encoded (`encode_images`, in inference), used instead of
        encoding their images again."""
        frame_tokens = frame_tokens or {}
        tokens = [
            self.state(obs["state"].index_select(-1, self.state_columns))
            + self.modality[0]
            + self.step,
            (self.language(obs["language"]) + self.modality[2])[:, None, :],
        ]
        if self.environment is not None:
            environment = obs["environment_state"]
            mask = obs["environment_mask"][:, None, :].expand_as(environment)
            values = torch.cat([environment, mask], dim=-1)
            tokens.append(self.environment(values) + self.modality[1] + self.step)
        for i, name in enumerate(self.images):
            encoded = frame_tokens.get(name)
            if encoded is None:
                encoded = self.encode_images(name, obs[image_key(name)], generator)
            tokens.append(encoded + self.modality[3 + i] + self.step)
        return self.norm(self.mixer(torch.cat(tokens, dim=1)).mean(dim=1))

    def encode_images(self, name: str, images: torch.Tensor, generator=None) -> torch.Tensor:
        """Camera ``name``'s normalized images (B, T, 3, H, W) -> (B, T, d_model): cropped (at
        random in training, the centre in inference) and encoded, each image on its own."""
        images = crop(images, self.crops[name], random=self.training, generator=generator)
        batch, steps = images.shape[:2]
        return self.images[name](images.flatten(0, 1)).view(batch, steps, -1)
