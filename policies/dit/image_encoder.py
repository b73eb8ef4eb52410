"""Camera images -> one token each: a ResNet-18-style trunk with GroupNorm and spatial-softmax
keypoints, as Diffusion Policy encodes its cameras, trained from scratch (nothing downloaded).

Trunk: a 7x7 stride-2 convolution and a 3x3 stride-2 max pool, then four stages of two basic
residual blocks (3x3 convolutions) of ``width``, 2, 4 and 8 x ``width`` channels, each stage
after the first starting with stride 2; GroupNorm (``width / 4`` groups, 16 channels a group at
the first stage) instead of BatchNorm, which small and non-i.i.d. robot batches do not suit.
``width`` 64 is ResNet-18's (11 M parameters); a narrower trunk costs about width^2 less.

Spatial softmax: a 1x1 convolution gives ``keypoints`` feature maps; each map's softmax over the
pixels is a distribution whose expected (x, y) in [-1, 1] is one keypoint. The 2 x keypoints
coordinates are projected to the token width.

Random crops (`crop`) augment training: each sample's images are cut at a random place (the
same for its To steps); evaluation cuts the centre.
"""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x), then ReLU; a strided 1x1 projection where the shape
    changes."""

    def __init__(self, inputs: int, outputs: int, stride: int):
        super().__init__()
        groups = max(1, outputs // 16)
        self.body = nn.Sequential(
            nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False),
            nn.GroupNorm(groups, outputs),
            nn.ReLU(inplace=True),
            nn.Conv2d(outputs, outputs, 3, padding=1, bias=False),
            nn.GroupNorm(groups, outputs),
        )
        self.skip = (
            nn.Identity()
            if stride == 1 and inputs == outputs
            else nn.Sequential(
                nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False),
                nn.GroupNorm(groups, outputs),
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class SpatialSoftmax(nn.Module):
    """(N, C, h, w) feature maps -> (N, 2 K) expected keypoint coordinates in [-1, 1]."""

    def __init__(self, channels: int, keypoints: int):
        super().__init__()
        self.project = nn.Conv2d(channels, keypoints, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        maps = self.project(features)
        h, w = maps.shape[-2:]
        ys = torch.linspace(-1.0, 1.0, h, device=maps.device)
        xs = torch.linspace(-1.0, 1.0, w, device=maps.device)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        weights = torch.softmax(maps.flatten(2), dim=-1)  # (N, K, h w)
        x = (weights * grid_x.flatten()).sum(-1)
        y = (weights * grid_y.flatten()).sum(-1)
        return torch.stack([x, y], dim=-1).flatten(1)


class ImageEncoder(nn.Module):
    """(N, 3, H, W) standardized images -> (N, d_model) tokens (module doc)."""

    def __init__(self, d_model: int, *, width: int = 64, keypoints: int = 32):
        super().__init__()
        groups = max(1, width // 16)
        layers: list[nn.Module] = [
            nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False),
            nn.GroupNorm(groups, width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        ]
        channels = width
        for stage in range(4):
            outputs = width * 2**stage
            layers += [
                BasicBlock(channels, outputs, 1 if stage == 0 else 2),
                BasicBlock(outputs, outputs, 1),
            ]
            channels = outputs
        self.trunk = nn.Sequential(*layers)
        self.keypoints = SpatialSoftmax(channels, keypoints)
        self.project = nn.Linear(2 * keypoints, d_model)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.project(self.keypoints(self.trunk(images)))


def crop(
    images: torch.Tensor, size: tuple[int, int], *, random: bool, generator=None
) -> torch.Tensor:
    """(B, T, C, H, W) -> (B, T, C, h, w): a random window per sample (``random``, the same for
    its T steps) or the centre one."""
    batch, _, _, height, width = images.shape
    h, w = size
    if not random:
        top, left = (height - h) // 2, (width - w) // 2
        return images[..., top : top + h, left : left + w]
    tops = torch.randint(0, height - h + 1, (batch,), generator=generator).tolist()
    lefts = torch.randint(0, width - w + 1, (batch,), generator=generator).tolist()
    return torch.stack(
        [
            images[i, ..., t : t + h, s : s + w]
            for i, (t, s) in enumerate(zip(tops, lefts, strict=True))
        ]
    )
