"""Exponential moving average of model weights with the warm-up schedule of diffusion policy.

decay(step) = clamp(1 - (1 + step / inv_gamma) ** -power, min_value, max_value): small early (the
average follows the fast-moving weights), approaching max_value late.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Holds `model`'s averaged copy in `self.model` (eval mode, no grads)."""

    def __init__(self, model: nn.Module, power: float = 0.75, inv_gamma: float = 1.0, min_value: float = 0.0,
                 max_value: float = 0.9999) -> None:
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.power, self.inv_gamma, self.min_value, self.max_value = power, inv_gamma, min_value, max_value
        self.step = 0

    def decay(self) -> float:
        value = 1 - (1 + self.step / self.inv_gamma) ** -self.power
        return max(self.min_value, min(value, self.max_value)) if self.step > 0 else 0.0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.decay()
        for ema_p, p in zip(self.model.parameters(), model.parameters(), strict=True):
            ema_p.mul_(d).add_(p.detach(), alpha=1 - d)
        for ema_b, b in zip(self.model.buffers(), model.buffers(), strict=True):
            ema_b.copy_(b)
        self.step += 1
