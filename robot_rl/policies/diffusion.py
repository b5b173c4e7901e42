"""DDPM noise schedule with DDPM (ancestral) and DDIM (deterministic, few-step) samplers, ε-prediction.

Notation: alpha_bar_t = prod_{s<=t} (1 - beta_s) for t = 0 .. T-1; the forward process is
x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) ε. The network predicts ε from (x_t, t, cond).
Samples live in the normalized action space [-1, 1]; `clip_sample` clips the x_0 estimate there.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

EpsModel = Callable[[torch.Tensor, int], torch.Tensor]
"""(x_t (B, H, A), diffusion step t shared by the batch) -> predicted ε (B, H, A); conditioning is closed
over by the caller."""


def squaredcos_cap_v2(n_steps: int, max_beta: float = 0.999) -> torch.Tensor:
    """Cosine schedule (Nichol & Dhariwal): betas (n_steps,) float64 from
    alpha_bar(t) = cos²((t + 0.008) / 1.008 · π/2)."""
    def alpha_bar(t: float) -> float:
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = [min(1 - alpha_bar((i + 1) / n_steps) / alpha_bar(i / n_steps), max_beta) for i in range(n_steps)]
    return torch.tensor(betas, dtype=torch.float64)


class NoiseSchedule:
    """Training noise levels and samplers for `n_train_steps` diffusion steps."""

    def __init__(self, n_train_steps: int = 100, clip_sample: bool = True) -> None:
        self.n_train_steps = n_train_steps
        self.clip_sample = clip_sample
        betas = squaredcos_cap_v2(n_train_steps)
        self.alphas = (1 - betas).float()
        self.alpha_bar = torch.cumprod(1 - betas, 0).float()
        self.betas = betas.float()

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x_t for clean x0 (B, ...), noise like x0, integer t (B,)."""
        ab = self.alpha_bar.to(x0.device)[t].reshape(-1, *([1] * (x0.dim() - 1)))
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def _x0(self, x: torch.Tensor, eps: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        x0 = (x - (1 - ab).sqrt() * eps) / ab.sqrt()
        return x0.clamp(-1, 1) if self.clip_sample else x0

    def timesteps(self, steps: int) -> list[int]:
        """Descending training timesteps visited by a `steps`-step sampler (DDIM "leading" spacing)."""
        if not 1 <= steps <= self.n_train_steps:
            raise ValueError(f"sampling steps must be in [1, {self.n_train_steps}], got {steps}")
        ratio = self.n_train_steps // steps
        return [i * ratio for i in reversed(range(steps))]

    @torch.no_grad()
    def ddim(self, model: EpsModel, x: torch.Tensor, steps: int) -> torch.Tensor:
        """Deterministic DDIM (eta = 0) from noise x (B, H, A) in `steps` model calls."""
        ts = self.timesteps(steps)
        ab_all = self.alpha_bar.tolist()  # python floats: no tensor ops per step for the coefficients
        for i, t in enumerate(ts):
            eps = model(x, t)
            ab = ab_all[t]
            ab_prev = ab_all[ts[i + 1]] if i + 1 < len(ts) else 1.0
            x0 = (x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
            if self.clip_sample:  # keep ε consistent with the clipped x0 estimate
                x0 = x0.clamp(-1, 1)
                eps = (x - math.sqrt(ab) * x0) / math.sqrt(1 - ab)
            x = math.sqrt(ab_prev) * x0 + math.sqrt(1 - ab_prev) * eps
        return x

    @torch.no_grad()
    def ddpm(self, model: EpsModel, x: torch.Tensor,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """Ancestral DDPM sampling over all training steps (stochastic; `generator` draws its noise)."""
        ab_all, betas, alphas = (v.to(x.device) for v in (self.alpha_bar, self.betas, self.alphas))
        for t in reversed(range(self.n_train_steps)):
            eps = model(x, t)
            ab, ab_prev = ab_all[t], ab_all[t - 1] if t > 0 else torch.ones((), device=x.device)
            x0 = self._x0(x, eps, ab)
            # posterior mean of q(x_{t-1} | x_t, x0)
            mean = ((ab_prev.sqrt() * betas[t] / (1 - ab)) * x0
                    + (alphas[t].sqrt() * (1 - ab_prev) / (1 - ab)) * x)
            if t > 0:
                var = betas[t] * (1 - ab_prev) / (1 - ab)
                noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
                x = mean + var.clamp(min=1e-20).sqrt() * noise
            else:
                x = mean
        return x
