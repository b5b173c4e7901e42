"""Observation encoders: state MLP, a small GroupNorm ResNet per camera with random-crop augmentation.

Input: an observation window {key: (B, n_obs, *shape)} with `state/*` keys already normalized to
[-1, 1] (float) and `image/*` keys uint8 (B, n_obs, H, W, 3). Output: (B, n_obs * per_step_dim)
features, the per-step features of every key concatenated and then flattened over the window.
GroupNorm, not BatchNorm: EMA weights and batch statistics do not mix.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """Observation encoder settings."""

    state_hidden: int = 256
    """Hidden width of the state MLP; 0 = no MLP, pass the normalized state through (flattened)."""
    state_dim: int = 64
    """Per-step output features of the state MLP (ignored when state_hidden = 0)."""
    image_channels: tuple[int, ...] = (32, 64, 128)
    """Channels of the CNN stages; each stage halves the resolution (after a stride-2 stem)."""
    image_dim: int = 64
    """Per-step output features of each camera's CNN."""
    crop_fraction: float = 0.9
    """Side of the random crop (training) / centre crop (inference) as a fraction of the image side."""
    groups: int = 8
    """GroupNorm groups in the CNN."""


class StateEncoder(nn.Module):
    """Concatenated state keys (B, T, D) -> (B, T, F) through a 2-layer MLP (or identity)."""

    def __init__(self, in_dim: int, cfg: EncoderConfig) -> None:
        super().__init__()
        if cfg.state_hidden > 0:
            self.net = nn.Sequential(nn.Linear(in_dim, cfg.state_hidden), nn.Mish(),
                                     nn.Linear(cfg.state_hidden, cfg.state_dim))
            self.out_dim = cfg.state_dim
        else:
            self.net, self.out_dim = nn.Identity(), in_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ResBlock2d(nn.Module):
    def __init__(self, c_in: int, c_out: int, groups: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.GroupNorm(groups, c_out), nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1), nn.GroupNorm(groups, c_out))
        self.skip = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=2), nn.GroupNorm(groups, c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


def crop(images: torch.Tensor, size: tuple[int, int], generator: torch.Generator | None,
         random: bool) -> torch.Tensor:
    """(N, H, W, C) -> (N, h, w, C): random offsets per image when `random`, else the centre crop."""
    n, big_h, big_w = images.shape[:3]
    h, w = size
    if random:
        oy = torch.randint(0, big_h - h + 1, (n,), generator=generator)
        ox = torch.randint(0, big_w - w + 1, (n,), generator=generator)
        rows = (oy[:, None] + torch.arange(h))[:, :, None]
        cols = (ox[:, None] + torch.arange(w))[:, None, :]
        return images[torch.arange(n)[:, None, None], rows, cols]
    top, left = (big_h - h) // 2, (big_w - w) // 2
    return images[:, top:top + h, left:left + w]


class ImageEncoder(nn.Module):
    """One camera: uint8 (N, H, W, 3) -> crop -> stem + residual stages -> spatial mean -> (N, image_dim)."""

    def __init__(self, image_hw: tuple[int, int], cfg: EncoderConfig) -> None:
        super().__init__()
        self.crop_hw = tuple(max(8, round(s * cfg.crop_fraction)) for s in image_hw)
        chans = cfg.image_channels
        g = cfg.groups
        self.stem = nn.Sequential(nn.Conv2d(3, chans[0], 5, stride=2, padding=2), nn.GroupNorm(g, chans[0]),
                                  nn.ReLU())
        pairs = zip(chans[:-1], chans[1:], strict=True)
        self.stages = nn.Sequential(*[ResBlock2d(a, b, g) for a, b in pairs])
        self.head = nn.Linear(chans[-1], cfg.image_dim)
        self.out_dim = cfg.image_dim

    def forward(self, images: torch.Tensor, augment: bool = False,
                generator: torch.Generator | None = None) -> torch.Tensor:
        x = crop(images, self.crop_hw, generator, random=augment)
        x = x.permute(0, 3, 1, 2).float() / 127.5 - 1.0
        x = self.stages(self.stem(x))
        return self.head(x.mean(dim=(2, 3)))


class ObsEncoder(nn.Module):
    """Every observation key of a window -> (B, n_obs * per-step features).

    `shapes`: per-step shape of each key, e.g. {"state/q": (7,), "image/front": (96, 96, 3)}.
    """

    def __init__(self, shapes: dict[str, tuple[int, ...]], n_obs: int, cfg: EncoderConfig) -> None:
        super().__init__()
        self.state_keys = sorted(k for k in shapes if not k.startswith("image/"))
        self.image_keys = sorted(k for k in shapes if k.startswith("image/"))
        self.n_obs = n_obs
        dim = 0
        if self.state_keys:
            in_dim = sum(int(torch.tensor(shapes[k]).prod()) for k in self.state_keys)
            self.state = StateEncoder(in_dim, cfg)
            dim += self.state.out_dim
        # module names cannot hold "/", so cameras are keyed by their name after "image/"
        self.cameras = nn.ModuleDict({k.split("/", 1)[1]: ImageEncoder(tuple(shapes[k][:2]), cfg)
                                      for k in self.image_keys})
        dim += sum(enc.out_dim for enc in self.cameras.values())
        self.out_dim = dim * n_obs

    def forward(self, obs: dict[str, torch.Tensor], augment: bool = False,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """`augment`: random crops (training) instead of centre crops; `generator` draws the offsets."""
        feats = []
        if self.state_keys:
            first = obs[self.state_keys[0]]
            b, t = first.shape[:2]
            x = torch.cat([obs[k].reshape(b, t, -1).float() for k in self.state_keys], dim=-1)
            feats.append(self.state(x))
        for key in self.image_keys:
            img = obs[key]
            b, t = img.shape[:2]
            out = self.cameras[key.split("/", 1)[1]](img.reshape(b * t, *img.shape[2:]), augment, generator)
            feats.append(out.reshape(b, t, -1))
        return torch.cat(feats, dim=-1).flatten(1)
