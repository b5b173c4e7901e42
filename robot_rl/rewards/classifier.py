"""Success classifier: a small GroupNorm CNN per camera (robot_rl.policies.encoders.ImageEncoder, random
crops while training) + an MLP head → P(success | frames). Trained with balanced batches (half positive
frames, half negative, as in SERL) and binary cross-entropy; saved as safetensors + JSON.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from robot_rl.policies.encoders import EncoderConfig, ImageEncoder
from robot_rl.rewards.base import WEIGHTS_FILE, check_images, load_tensors
from robot_rl.rewards.dataset import Frames

SMALL_ENCODER = EncoderConfig(image_channels=(16, 32, 64), image_dim=64, crop_fraction=0.9, groups=8)


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """Success classifier network and training settings."""

    encoder: EncoderConfig = SMALL_ENCODER
    """Per-camera CNN (robot_rl.policies.encoders.ImageEncoder); crop_fraction sets the random crop."""
    hidden: int = 128
    """Hidden width of the MLP head over the concatenated camera features."""
    steps: int = 1500
    """Gradient steps."""
    minutes: float = 10.0
    """Wall-clock training budget; training stops at whichever of steps/minutes comes first."""
    batch_size: int = 64
    """Frames per batch, half positives and half negatives."""
    lr: float = 3e-4
    """AdamW learning rate."""
    weight_decay: float = 1e-4
    """AdamW weight decay."""
    seed: int = 0
    """Seed of initialisation, batches and crops."""
    onset_negatives: float = 0.25
    """Fraction of each batch's negatives drawn from the `onset_window` frames just before a success
    segment (peg 25 mm deep of 30, drawer not yet open far enough): uniform sampling sees each of them
    rarely once failures outnumber demos, and the boundary drifted early (peg_insert with 40 noisy
    episodes, on development episodes: median score 0.97 two frames before success; with 0.25: 0.009)."""
    onset_window: int = 5
    """Frames before a success segment that count as onset negatives."""


class SuccessClassifier(nn.Module):
    """{`image/<cam>`: (N, H, W, 3) uint8} → (N,) success logits."""

    def __init__(self, sizes: Mapping[str, tuple[int, int]], cfg: ClassifierConfig) -> None:
        super().__init__()
        self.keys = tuple(sizes)
        self.sizes = {k: tuple(v) for k, v in sizes.items()}
        # module names cannot hold "/": cameras are keyed by the name after "image/"
        self.encoders = nn.ModuleDict({k.split("/", 1)[1]: ImageEncoder(self.sizes[k], cfg.encoder)
                                       for k in self.keys})
        dim = sum(e.out_dim for e in self.encoders.values())
        self.head = nn.Sequential(nn.Linear(dim, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, 1))

    def forward(self, images: Mapping[str, torch.Tensor], augment: bool = False,
                generator: torch.Generator | None = None) -> torch.Tensor:
        feats = [self.encoders[k.split("/", 1)[1]](images[k], augment, generator) for k in self.keys]
        return self.head(torch.cat(feats, dim=-1)).squeeze(-1)


class ClassifierScorer:
    """A trained SuccessClassifier as a `Scorer` (checks camera keys and image sizes)."""

    def __init__(self, net: SuccessClassifier, batch: int = 256) -> None:
        self.net, self.batch = net.eval(), batch
        self.cameras = net.keys

    def predict(self, images: Mapping[str, np.ndarray]) -> np.ndarray:
        n = check_images(images, self.cameras, self.net.sizes)
        out = []
        with torch.no_grad():
            for a in range(0, n, self.batch):
                batch = {k: torch.from_numpy(np.ascontiguousarray(images[k][a:a + self.batch]))
                         for k in self.cameras}
                out.append(torch.sigmoid(self.net(batch)).double().numpy())
        return np.concatenate(out) if out else np.zeros(0)


def train_classifier(train: Frames, cfg: ClassifierConfig,
                     log_every: int = 100) -> tuple[ClassifierScorer, dict]:
    """Fit on the labelled frames of `train` (label -1 ignored). Returns the scorer and a training log
    (loss at the start and end, steps, seconds)."""
    pos, neg = np.flatnonzero(train.labels == 1), np.flatnonzero(train.labels == 0)
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError(f"training needs positive and negative frames; got {len(pos)} positive, {len(neg)} "
                         "negative (episodes ending at the first success hold no successful frame: record "
                         "past success, e.g. `robot-rl reward collect`, or use --labels.source last_k)")
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    net = SuccessClassifier({k: v.shape[1:3] for k, v in train.images.items()}, cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    half = cfg.batch_size // 2
    onset = _onset_negatives(train, cfg.onset_window) if cfg.onset_negatives > 0 else np.zeros(0, np.int64)
    n_onset = int(round(half * cfg.onset_negatives)) if len(onset) else 0
    target = torch.cat([torch.ones(half), torch.zeros(half)])
    losses, t0, step = [], time.monotonic(), 0
    for step in range(1, cfg.steps + 1):
        idx = np.concatenate([rng.choice(pos, half), rng.choice(onset, n_onset),
                              rng.choice(neg, half - n_onset)])
        batch = {k: torch.from_numpy(v[idx]) for k, v in train.images.items()}
        loss = nn.functional.binary_cross_entropy_with_logits(net(batch, augment=True, generator=gen), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if log_every and step % log_every == 0:
            print(f"  step {step}: loss {np.mean(losses[-log_every:]):.4f}", flush=True)
        if time.monotonic() - t0 > cfg.minutes * 60:
            break
    window = max(1, min(50, len(losses) // 4))
    log = {"steps": step, "seconds": time.monotonic() - t0, "loss_first": float(np.mean(losses[:window])),
           "loss_last": float(np.mean(losses[-window:])), "positives": len(pos), "negatives": len(neg)}
    return ClassifierScorer(net), log


def _onset_negatives(frames: Frames, window: int) -> np.ndarray:
    """Indices of negative frames at most `window` frames before a positive frame of the same episode."""
    lab, ep = frames.labels, frames.step_episode
    near = np.zeros(len(lab), dtype=bool)
    for shift in range(1, window + 1):
        near[:-shift] |= (lab[shift:] == 1) & (ep[shift:] == ep[:-shift])
    return np.flatnonzero(near & (lab == 0))


def classifier_weights(scorer: ClassifierScorer) -> dict[str, torch.Tensor]:
    return dict(scorer.net.state_dict())


def classifier_config_json(scorer: ClassifierScorer, cfg: ClassifierConfig) -> dict[str, Any]:
    return {"classifier": dataclasses.asdict(cfg), "sizes": {k: list(v) for k, v in scorer.net.sizes.items()}}


def load_classifier(path: Path, meta: dict[str, Any]) -> ClassifierScorer:
    """The classifier saved in `path` (reward.json already read into `meta`)."""
    c = dict(meta["config"]["classifier"])
    enc = c.pop("encoder")
    enc["image_channels"] = tuple(enc["image_channels"])
    cfg = ClassifierConfig(encoder=EncoderConfig(**enc), **c)
    sizes = {k: tuple(v) for k, v in meta["config"]["sizes"].items()}
    net = SuccessClassifier(sizes, cfg)
    net.load_state_dict(load_tensors(Path(path) / WEIGHTS_FILE))
    return ClassifierScorer(net)
