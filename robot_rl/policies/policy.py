"""DiffusionChunkPolicy: observation window -> chunk of H actions by conditional diffusion (DESIGN §5).

Spaces: observations arrive in their units ({key: (B, n_obs, *shape)}: `state/*` float, `image/*`
uint8 HWC); the policy normalizes state keys itself with the normalizer it carries (fitted on the
training data and saved in the checkpoint). Chunks are produced and trained in the normalized action
space [-1, 1] (B, H, A); `act` unnormalizes them to the action key's units.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

from robot_rl.data.normalizer import Normalizer
from robot_rl.policies.diffusion import NoiseSchedule
from robot_rl.policies.encoders import EncoderConfig, ObsEncoder
from robot_rl.policies.unet1d import ConditionalUnet1D


@dataclasses.dataclass(frozen=True)
class PolicyConfig:
    """Diffusion chunk policy. Defaults are the CPU "quick" settings: a small UNet (32/64/128 channels, one
    block per level, ~0.7 M parameters) samples a DDIM-8 chunk in ~8 ms on one CPU core; the notes'
    (256, 512, 1024) x 2 blocks costs ~15x more per denoising step."""

    obs_keys: tuple[str, ...] = ()
    """Observation keys; empty = every state/ and image/ key of the data."""
    action_key: str = "action"
    """Key of the (A,) action vector in the data."""
    n_obs: int = 2
    """Observation history length (steps t-n_obs+1 .. t)."""
    horizon: int = 16
    """Actions per predicted chunk H (steps t .. t+H-1); divisible by 2^(len(down_dims)-1)."""
    n_action_steps: int = 8
    """Actions of each chunk executed before re-planning (receding horizon)."""
    down_dims: tuple[int, ...] = (32, 64, 128)
    """UNet channels per level (notes: 256, 512, 1024; see the class docstring for the CPU default)."""
    blocks_per_level: int = 1
    """FiLM residual blocks per UNet level (notes: 2; 1 halves CPU sampling latency)."""
    kernel_size: int = 5
    """Temporal convolution kernel."""
    n_groups: int = 8
    """GroupNorm groups in the UNet."""
    step_embed_dim: int = 64
    """Diffusion-step embedding width."""
    encoder: EncoderConfig = EncoderConfig()
    """Observation encoders."""
    n_train_steps: int = 100
    """DDPM diffusion steps used in training (and by the DDPM sampler)."""
    sampler: Literal["ddim", "ddpm"] = "ddim"
    """Inference sampler: deterministic few-step DDIM or full ancestral DDPM."""
    inference_steps: int = 8
    """DDIM steps at inference."""
    clip_sample: bool = True
    """Clip the x0 estimate to [-1, 1] while sampling."""


class DiffusionChunkPolicy(nn.Module):
    """ε-prediction diffusion over (H, A) chunks conditioned on encoded observation windows.

    `shapes`: per-step shape of each observation key and of the action key; `normalizer` covers the
    action key and every state key.
    """

    def __init__(self, cfg: PolicyConfig, shapes: dict[str, tuple[int, ...]], normalizer: Normalizer) -> None:
        super().__init__()
        if cfg.horizon % (2 ** (len(cfg.down_dims) - 1)):
            raise ValueError(f"horizon {cfg.horizon} must be divisible by 2^{len(cfg.down_dims) - 1} "
                             f"(one halving per UNet level after the first)")
        if not 1 <= cfg.n_action_steps <= cfg.horizon:
            raise ValueError(f"n_action_steps must be in [1, horizon={cfg.horizon}], "
                             f"got {cfg.n_action_steps}")
        self.cfg = cfg
        self.shapes = {k: tuple(v) for k, v in shapes.items()}
        self.obs_keys = tuple(k for k in self.shapes if k != cfg.action_key)
        missing = [k for k in (cfg.action_key, *self.state_keys) if k not in normalizer.keys]
        if missing:
            raise ValueError(f"the normalizer lacks keys {missing}; it has {normalizer.keys}")
        self.normalizer = normalizer
        self.action_dim = int(torch.tensor(self.shapes[cfg.action_key]).prod())
        self.encoder = ObsEncoder({k: self.shapes[k] for k in self.obs_keys}, cfg.n_obs, cfg.encoder)
        self.unet = ConditionalUnet1D(self.action_dim, self.encoder.out_dim, cfg.down_dims,
                                      cfg.step_embed_dim, cfg.kernel_size, cfg.n_groups, cfg.blocks_per_level)
        self.schedule = NoiseSchedule(cfg.n_train_steps, cfg.clip_sample)

    @property
    def state_keys(self) -> tuple[str, ...]:
        return tuple(k for k in self.obs_keys if not k.startswith("image/"))

    def encode(self, obs: dict[str, torch.Tensor], augment: bool = False,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Observation window in its units -> (B, encoder.out_dim) features."""
        missing = [k for k in self.obs_keys if k not in obs]
        if missing:
            raise KeyError(f"observation lacks keys {missing}; the policy reads {list(self.obs_keys)}")
        normed = {k: self.normalizer.normalize(k, obs[k].float()) if k in self.state_keys else obs[k]
                  for k in self.obs_keys}
        return self.encoder(normed, augment, generator)

    def loss(self, batch: dict, generator: torch.Generator | None = None) -> torch.Tensor:
        """ε-prediction MSE on a WindowSampler batch (torch). Padded actions (repeats of an episode's last
        action) are kept, as in diffusion policy: they teach the policy to hold still at the end."""
        cond = self.encode(batch["obs"], augment=True, generator=generator)
        x0 = self.normalizer.normalize(self.cfg.action_key, batch["action"].float())
        b = x0.shape[0]
        noise = torch.randn(x0.shape, generator=generator)
        t = torch.randint(0, self.schedule.n_train_steps, (b,), generator=generator)
        pred = self.unet(self.schedule.add_noise(x0, noise, t), t, cond)
        return torch.nn.functional.mse_loss(pred, noise)

    @torch.no_grad()
    def sample(self, obs: dict[str, torch.Tensor], n: int = 1, noise: torch.Tensor | None = None,
               steps: int | None = None, sampler: str | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` chunks per observation window: (B, n, H, A) normalized actions in [-1, 1].

        `noise` (B, n, H, A): the initial noise (default drawn from `generator`); with the DDIM sampler the
        result is a deterministic function of (obs, noise). `steps`: DDIM steps (default config);
        `sampler`: "ddim" or "ddpm" (default config).
        """
        cfg = self.cfg
        cond = self.encode(obs)
        b = cond.shape[0]
        shape = (b, n, cfg.horizon, self.action_dim)
        if noise is None:
            noise = torch.randn(shape, generator=generator)
        elif tuple(noise.shape) != shape:
            raise ValueError(f"noise must have shape {shape} (B, n, H, A), got {tuple(noise.shape)}")
        cond = cond.repeat_interleave(n, dim=0)
        ddpm = (sampler or cfg.sampler) == "ddpm"
        ts = list(range(self.schedule.n_train_steps)) if ddpm else self.schedule.timesteps(
            steps or cfg.inference_steps)
        # the FiLM vectors of every step at once: one batched call instead of one per denoising step
        t_all = torch.tensor(ts).repeat_interleave(b * n)
        films = self.unet.film_vector(t_all, cond.repeat(len(ts), 1)).split(b * n)
        by_step = dict(zip(ts, films, strict=True))

        def eps(x: torch.Tensor, t: int) -> torch.Tensor:
            return self.unet(x, None, None, film=by_step[t])

        x = noise.reshape(b * n, cfg.horizon, self.action_dim).to(cond.dtype)
        if ddpm:
            x = self.schedule.ddpm(eps, x, generator)
        else:
            x = self.schedule.ddim(eps, x, steps or cfg.inference_steps)
        return x.reshape(shape)

    def compiled_sampler(self, steps: int | None = None) -> Callable[[dict, torch.Tensor], torch.Tensor]:
        """A torch.compile'd DDIM sampler for one observation shape: (obs window, noise (B, n, H, A)) ->
        chunks (B, n, H, A), matching `sample(obs, n, noise=noise, steps=steps)` to ~1e-6.

        Compiling the whole denoising loop removes the per-op dispatch cost that dominates eager sampling
        at batch 1 (~2.5x faster on CPU). The first call compiles (~30-60 s on CPU; later processes reuse
        inductor's disk cache); new shapes or weights' dtypes recompile. Weights are read live.
        """
        steps = steps or self.cfg.inference_steps

        def run(obs: dict[str, torch.Tensor], noise: torch.Tensor) -> torch.Tensor:
            return self.sample(obs, noise.shape[1], noise=noise, steps=steps, sampler="ddim")

        return torch.compile(run, dynamic=False)

    @torch.no_grad()
    def act(self, obs: dict[str, torch.Tensor], **kw) -> torch.Tensor:
        """One chunk per observation window in the action's units: (B, H, A). Keywords go to `sample`."""
        chunk = self.sample(obs, 1, **kw)[:, 0]
        return self.normalizer.unnormalize(self.cfg.action_key, chunk.clamp(-1, 1))
