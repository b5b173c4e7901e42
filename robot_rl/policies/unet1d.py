"""1-D temporal convolutional UNet with FiLM conditioning (the diffusion policy's noise predictor).

Input x (B, H, A): a noisy chunk of H actions; t (B,) int diffusion step; cond (B, C) observation
features. Output (B, H, A): predicted noise. Convolutions run over the time axis with kernel
`kernel_size`; each residual block is Conv → GroupNorm → Mish twice, with a per-channel FiLM
(scale, bias) from [step embedding, cond] applied after the first conv.

CPU latency shaped the implementation (sampling calls this network 8-100 times per chunk at batch 1,
where per-op overhead dominates): activations stay channels-last (B, L, C) so a convolution is one
unfold + one matmul (PyTorch's CPU conv1d took a ~5x slower im2col path), every block's FiLM comes
from one shared Linear, and upsampling is repeat + conv instead of ConvTranspose1d.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Conv1d(nn.Module):
    """Convolution over time, channels-last: (B, L, C_in) -> (B, L_out, C_out), zero padding k // 2."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.weight = nn.Parameter(torch.empty(c_out, c_in * kernel))  # column index = c * kernel + j
        self.bias = nn.Parameter(torch.empty(c_out))
        bound = 1 / math.sqrt(c_in * kernel)  # nn.Conv1d's default initialisation
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel == 1 and self.stride == 1:
            # contiguous: MKL's result for a strided input varied (1 ulp) with buffer addresses, which
            # broke bitwise-identical actions between a model and its reloaded checkpoint
            return F.linear(x.contiguous(), self.weight, self.bias)
        p = self.kernel // 2
        cols = F.pad(x, (0, 0, p, p)).unfold(1, self.kernel, self.stride)  # (B, L_out, C_in, k)
        return F.linear(cols.flatten(2), self.weight, self.bias)


class ConvNormMish(nn.Module):
    """Conv1d → GroupNorm → Mish on (B, L, C); FiLM (B, 1, C) scale/bias optionally applied after the norm."""

    def __init__(self, c_in: int, c_out: int, kernel: int, groups: int) -> None:
        super().__init__()
        self.conv = Conv1d(c_in, c_out, kernel)
        self.norm = nn.GroupNorm(groups, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x).transpose(1, 2)
        h = F.group_norm(h, self.norm.num_groups, self.norm.weight, self.norm.bias, self.norm.eps)
        return F.mish(h.transpose(1, 2))


class FiLMResBlock(nn.Module):
    """Two conv blocks with FiLM between them and a 1x1 residual; `film_size` = 2 * c_out entries of the
    shared FiLM vector."""

    def __init__(self, c_in: int, c_out: int, kernel: int, groups: int) -> None:
        super().__init__()
        self.block1 = ConvNormMish(c_in, c_out, kernel, groups)
        self.block2 = ConvNormMish(c_out, c_out, kernel, groups)
        self.residual = Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.film_size = 2 * c_out

    def forward(self, x: torch.Tensor, film: torch.Tensor) -> torch.Tensor:
        scale, bias = film.chunk(2, dim=-1)  # (B, 1, c_out) each
        h = torch.addcmul(bias, self.block1(x), scale + 1)
        return self.block2(h) + self.residual(x)


class StepEmbedding(nn.Module):
    """Sinusoidal embedding of the diffusion step followed by an MLP: (B,) -> (B, dim)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 4), nn.Mish(), nn.Linear(dim * 4, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / max(half - 1, 1))
        arg = t.float()[:, None] * freqs[None]
        return self.mlp(torch.cat([arg.sin(), arg.cos()], dim=-1))


class ConditionalUnet1D(nn.Module):
    """ε-prediction network; `down_dims` channels per level (the time axis halves between levels)."""

    def __init__(self, action_dim: int, cond_dim: int, down_dims: tuple[int, ...] = (64, 128, 256),
                 step_embed_dim: int = 64, kernel_size: int = 5, n_groups: int = 8,
                 blocks_per_level: int = 2) -> None:
        super().__init__()
        n = blocks_per_level
        k, g = kernel_size, n_groups
        self.step_embed = StepEmbedding(step_embed_dim)
        dims = [action_dim, *down_dims]
        self.down = nn.ModuleList()
        for i, (c_in, c_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            last = i == len(down_dims) - 1
            blocks = [FiLMResBlock(c_in if j == 0 else c_out, c_out, k, g) for j in range(n)]
            down = Conv1d(c_out, c_out, 3, stride=2) if not last else nn.Identity()
            self.down.append(nn.ModuleList([nn.ModuleList(blocks), down]))
        mid = down_dims[-1]
        self.mid = nn.ModuleList([FiLMResBlock(mid, mid, k, g) for _ in range(n)])
        self.up = nn.ModuleList()
        for c_in, c_out in zip(reversed(down_dims[1:]), reversed(down_dims[:-1]), strict=True):
            blocks = [FiLMResBlock(c_in * 2 if j == 0 else c_out, c_out, k, g) for j in range(n)]
            self.up.append(nn.ModuleList([nn.ModuleList(blocks), Conv1d(c_out, c_out, 3)]))
        self.final = nn.Sequential(ConvNormMish(down_dims[0], down_dims[0], k, g),
                                   Conv1d(down_dims[0], action_dim, 1))
        self.blocks = [m for m in self.modules() if isinstance(m, FiLMResBlock)]  # forward order
        self.film_sizes = [b.film_size for b in self.blocks]
        self.film = nn.Linear(step_embed_dim + cond_dim, sum(self.film_sizes))

    def film_vector(self, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Every block's FiLM (scale, bias) for steps t (N,) and conditioning cond (N, C): (N, sum of sizes).
        Samplers compute it for all their steps in one call, since it does not depend on x."""
        return self.film(F.mish(torch.cat([self.step_embed(t), cond], dim=-1)))

    def forward(self, x: torch.Tensor, t: torch.Tensor | None, cond: torch.Tensor | None,
                film: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, H, A), t (B,), cond (B, C) -> (B, H, A), or x with a precomputed `film_vector` (B, ...).
        H must be divisible by 2^(levels-1)."""
        film = self.film_vector(t, cond) if film is None else film
        films = iter(film.unsqueeze(1).split(self.film_sizes, dim=-1))
        h, skips = x, []
        for blocks, down in self.down:
            for block in blocks:
                h = block(h, next(films))
            skips.append(h)
            h = down(h)
        for block in self.mid:
            h = block(h, next(films))
        for blocks, up in self.up:
            h = torch.cat([h, skips.pop()], dim=-1)
            for block in blocks:
                h = block(h, next(films))
            h = up(h.repeat_interleave(2, dim=1))
        return self.final(h)
