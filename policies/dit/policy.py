"""`DiTPolicy`: denoising diffusion over action chunks with diffusers' schedulers.

Training (`compute_loss`): normalize to [-1, 1], draw a diffusion step k ~ U{0..K-1} and noise
eps, build x_k with `DDPMScheduler.add_noise` (cosine ``squaredcos_cap_v2`` schedule), predict
eps, MSE. With probability ``condition_drop`` a sample's observation embedding is replaced by a
learned null embedding, which trains the unconditional model for classifier-free guidance.
With a probe (``probe_dim``), a linear map of the observation embedding also predicts the
batch's ``probe_state`` (the object state the policy does not read), normalized to [-1, 1] over
the training data's range (stats ``probe``, kept in the checkpoint), and ``probe_weight`` x its
squared error over the real numbers (``probe_mask``) joins the loss.

Inference (`predict_chunk`): the observation is encoded once; then DDPM (K calls), DDIM or
DPM-Solver++ (``sampling_steps`` calls) denoise from Gaussian noise (drawn from the generator,
or given per sample: DDIM and DPM-Solver++ are then deterministic, DDPM adds fresh noise at
every step from the generator). With guidance scale w != 1
each call evaluates the conditional and unconditional noise as one batch and uses
eps_u + w (eps_c - eps_u); w = 1 runs the conditional model alone.
"""

from __future__ import annotations

import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler
from torch import nn

from robostack.policies.base import Policy
from robostack.policies.dit.configuration import DiTConfig
from robostack.policies.dit.network import DiTNoiseNet
from robostack.policies.dit.observation_encoder import ObservationEncoder
from robostack.policies.normalize import MinMaxNormalizer


class DiTPolicy(Policy):
    name = "dit"
    config_class = DiTConfig
    samples = True

    def __init__(self, config: DiTConfig, stats: dict[str, dict]):
        super().__init__(config, stats)
        f = config.features
        self.encoder = ObservationEncoder(
            f,
            config.d_model,
            config.n_heads,
            config.n_obs_layers,
            image_width=config.image_width,
            keypoints=config.keypoints,
            crop_ratio=config.crop_ratio,
            velocities=config.proprioception == "full",
        )
        self.null_condition = nn.Parameter(torch.zeros(config.d_model))
        self.probe = self.probe_normalizer = None
        if config.probe_dim:
            self.probe = nn.Linear(config.d_model, config.probe_dim)
            self.probe_normalizer = MinMaxNormalizer.for_key(
                stats, "probe", config.probe_dim, "the probe predicts"
            )
        self.net = DiTNoiseNet(
            action_dim=f.action_dim,
            horizon=f.horizon,
            d_model=config.d_model,
            n_heads=config.n_heads,
            n_layers=config.n_layers,
            mlp_ratio=config.mlp_ratio,
            dropout=config.dropout,
        )
        self.noise_scheduler = DDPMScheduler(
            num_train_timesteps=config.train_timesteps,
            beta_schedule=config.beta_schedule,
            prediction_type="epsilon",
            clip_sample=True,
        )
        self._samplers: dict[str, object] = {}

    def encode(
        self,
        obs: dict[str, torch.Tensor],
        generator=None,
        frame_tokens: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Raw observation batch -> (B, d_model) conditioning vector (cameras included: once per
        observation, never per denoising step); ``generator`` draws training crops;
        ``frame_tokens`` {camera: (B, To, d_model)}: frames already encoded (`encode_frames`)."""
        return self.encoder(self.normalized_observation(obs), generator, frame_tokens)

    @torch.no_grad()
    def encode_frames(self, name: str, images: torch.Tensor) -> torch.Tensor:
        """Camera ``name``'s frames (N, 3, H, W) in [0, 1] -> (N, d_model), each as `encode`
        encodes it in inference (normalized, centre-cropped), before its camera and step
        embeddings: a frame seen by several chunks is encoded once
        (`robostack.policies.runner.PolicyRunner`)."""
        normalized = self.image_normalizers[name].normalize(images[None])
        return self.encoder.encode_images(name, normalized)[0]

    def compute_loss(self, batch, generator=None) -> torch.Tensor:
        condition = self.encode(batch, generator)
        probe_loss = self._probe_loss(condition, batch)
        actions = self.normalizers["action"].normalize(batch["action"])
        size = actions.shape[0]
        if self.training:  # at condition_drop 0 too: DDP wants every parameter in the graph
            drop = torch.rand(size, generator=generator) < self.config.condition_drop
            condition = torch.where(
                drop[:, None], self.null_condition.expand_as(condition), condition
            )
        noise = torch.randn(actions.shape, generator=generator)
        steps = torch.randint(0, self.config.train_timesteps, (size,), generator=generator)
        noisy = self.noise_scheduler.add_noise(actions, noise, steps)
        return nn.functional.mse_loss(self.net(noisy, steps, condition), noise) + probe_loss

    def stats(self) -> dict[str, dict]:
        stats = super().stats()
        if self.probe_normalizer is not None:
            stats["probe"] = self.probe_normalizer.stats()
        return stats

    def _probe_loss(self, condition: torch.Tensor, batch: dict) -> torch.Tensor | float:
        """``probe_weight`` x the probe's mean squared error, normalized, over the real numbers
        of the batch's ``probe_state`` (B, E); 0 without a probe."""
        if self.probe is None:
            return 0.0
        if "probe_state" not in batch:
            raise ValueError(
                "this DiT trains a probe of the object state; the batch has none (train from "
                "cameras on datasets with observation.environment_state)"
            )
        state, mask = batch["probe_state"], batch["probe_mask"]
        if state.shape[-1] != self.config.probe_dim:
            raise ValueError(
                f"the probe predicts {self.config.probe_dim} numbers, the batch's object state "
                f"has {state.shape[-1]}"
            )
        target = self.probe_normalizer.normalize(state)
        error = (self.probe(condition) - target) ** 2 * mask
        return self.config.probe_weight * error.sum() / mask.sum().clamp_min(1.0)

    def make_sampler(self, sampler: str | None = None, steps: int | None = None):
        """A diffusers scheduler reset for one sampling run (``sampler`` and ``steps`` override
        the config; ddpm always takes every train step); returns (scheduler, network calls).
        Schedulers are built once per kind and reused (building one costs more than a call)."""
        sampler = sampler or self.config.sampler
        if sampler not in self._samplers:
            base = self.noise_scheduler.config
            if sampler == "ddpm":
                scheduler = DDPMScheduler.from_config(base)
            elif sampler == "ddim":
                scheduler = DDIMScheduler.from_config(base, timestep_spacing="trailing")
            elif sampler == "dpmsolver":
                # thresholding clips its data predictions to [-1, 1], as clip_sample does for
                # DDPM / DDIM: at the first (trailing) step the cosine schedule's alpha_bar is
                # ~0 and the unclipped estimate of x_0 explodes
                scheduler = DPMSolverMultistepScheduler.from_config(
                    base,
                    algorithm_type="dpmsolver++",
                    timestep_spacing="trailing",
                    thresholding=True,
                    sample_max_value=1.0,
                )
            else:
                raise ValueError(f"unknown sampler {sampler!r}; use ddpm, ddim or dpmsolver")
            self._samplers[sampler] = scheduler
        scheduler = self._samplers[sampler]
        if sampler == "ddpm":
            steps = self.config.train_timesteps
        steps = steps or self.config.sampling_steps
        if not 1 <= steps <= self.config.train_timesteps:
            raise ValueError(f"steps must be in [1, {self.config.train_timesteps}], got {steps}")
        scheduler.set_timesteps(steps)
        return scheduler, steps

    @torch.no_grad()
    def predict_chunk(
        self,
        obs,
        *,
        generator=None,
        noise: torch.Tensor | None = None,
        sampler: str | None = None,
        steps: int | None = None,
        guidance_scale: float | None = None,
        frame_tokens: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """See `robostack.policies.base.Policy.predict_chunk`; ``frame_tokens``: as for
        `encode`."""
        scale = self.config.guidance_scale if guidance_scale is None else guidance_scale
        condition = self.encode(obs, frame_tokens=frame_tokens)
        size = condition.shape[0]
        if scale != 1.0:
            condition = torch.cat([condition, self.null_condition.expand_as(condition)])
        scheduler, _ = self.make_sampler(sampler, steps)
        f = self.features
        if noise is None:
            noise = torch.randn(
                (size, f.horizon, f.action_dim), generator=generator, device=condition.device
            )
        elif noise.shape != (size, f.horizon, f.action_dim):
            raise ValueError(
                f"noise has shape {tuple(noise.shape)}, expected {(size, f.horizon, f.action_dim)}"
            )
        x = noise
        for t in scheduler.timesteps:
            if scale != 1.0:
                both = self.net(torch.cat([x, x]), t.expand(2 * size), condition)
                conditional, unconditional = both.chunk(2)
                eps = unconditional + scale * (conditional - unconditional)
            else:
                eps = self.net(x, t.expand(size), condition)
            x = scheduler.step(eps, t, x, generator=generator).prev_sample
        return self.normalizers["action"].unnormalize(x.clamp(-1.0, 1.0))
