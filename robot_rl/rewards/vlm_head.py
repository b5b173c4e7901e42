"""A small head trained on frozen CLIP/SigLIP image embeddings (the "frozen pretrained encoder + head"
success classifier). Embeddings of every camera are concatenated; only the head is trained and saved
(`model.safetensors`); the VLM is loaded from its local directory, recorded in reward.json."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from robot_rl.rewards.dataset import Frames


@dataclasses.dataclass(frozen=True)
class HeadConfig:
    """Head on frozen VLM embeddings."""

    model_dir: Path = Path("models/clip")
    """Local directory of a transformers CLIP/SigLIP model (save_pretrained layout); never downloaded."""
    hidden: int = 64
    """Hidden width of the MLP head; 0 = logistic regression on the embeddings."""
    steps: int = 500
    """Gradient steps (balanced batches)."""
    batch_size: int = 128
    """Embeddings per batch, half positives and half negatives."""
    lr: float = 1e-3
    """AdamW learning rate."""
    weight_decay: float = 1e-3
    """AdamW weight decay."""
    seed: int = 0
    """Seed of initialisation and batches."""
    batch: int = 32
    """Frames per VLM forward pass."""


def make_head(dim: int, hidden: int) -> nn.Module:
    if hidden <= 0:
        return nn.Linear(dim, 1)
    return nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))


class HeadScorer:
    """`Scorer`: frozen VLM image embeddings of each camera → head → sigmoid."""

    def __init__(self, cfg: HeadConfig, cameras: tuple[str, ...], head: nn.Module | None = None) -> None:
        from robot_rl.rewards.vlm_common import VlmEncoder

        self.cfg, self.cameras = cfg, tuple(cameras)
        self.encoder = VlmEncoder(cfg.model_dir, cfg.batch)
        self.dim = int(self.encoder.images(np.zeros((1, 8, 8, 3), np.uint8)).shape[1]) * len(self.cameras)
        self.head = (head or make_head(self.dim, cfg.hidden)).eval()

    def embed(self, images: Mapping[str, np.ndarray]) -> torch.Tensor:
        from robot_rl.rewards.base import check_images

        check_images(images, self.cameras)
        return torch.cat([self.encoder.images(images[c]) for c in self.cameras], dim=1)

    def predict(self, images: Mapping[str, np.ndarray]) -> np.ndarray:
        with torch.no_grad():
            return torch.sigmoid(self.head(self.embed(images)).squeeze(-1)).double().numpy()

    def weights(self) -> dict[str, torch.Tensor]:
        return dict(self.head.state_dict())

    def config_json(self) -> dict[str, Any]:
        return {"head": dataclasses.asdict(self.cfg) | {"model_dir": str(self.encoder.path)},
                "cameras": list(self.cameras), "dim": self.dim}


def train_head(train: Frames, cfg: HeadConfig) -> tuple[HeadScorer, dict[str, Any]]:
    """Embed every labelled training frame once, then fit the head with balanced batches."""
    torch.manual_seed(cfg.seed)
    scorer = HeadScorer(cfg, tuple(train.images))
    keep = np.flatnonzero(train.labels >= 0)
    t0 = time.monotonic()
    x = scorer.embed({k: v[keep] for k, v in train.images.items()})
    y = train.labels[keep]
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError(f"training needs positive and negative frames; got {len(pos)} and {len(neg)}")
    head = scorer.head.train()
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    half = cfg.batch_size // 2
    target = torch.cat([torch.ones(half), torch.zeros(half)])
    losses = []
    for _ in range(cfg.steps):
        idx = np.concatenate([rng.choice(pos, half), rng.choice(neg, half)])
        loss = nn.functional.binary_cross_entropy_with_logits(head(x[idx]).squeeze(-1), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    head.eval()
    w = max(1, min(50, len(losses) // 4))
    return scorer, {"steps": cfg.steps, "seconds": time.monotonic() - t0,
                    "loss_first": float(np.mean(losses[:w])), "loss_last": float(np.mean(losses[-w:])),
                    "positives": len(pos), "negatives": len(neg)}


def load_head_scorer(path: Path, meta: dict[str, Any]) -> HeadScorer:
    from robot_rl.rewards.base import WEIGHTS_FILE, load_tensors

    c = dict(meta["config"]["head"])
    cfg = HeadConfig(model_dir=Path(c.pop("model_dir")), **c)
    scorer = HeadScorer(cfg, tuple(meta["config"]["cameras"]))
    if scorer.dim != meta["config"]["dim"]:
        raise ValueError(f"{cfg.model_dir} gives {scorer.dim}-d embeddings; the head in {path} was trained "
                         f"on {meta['config']['dim']}-d ones (a different VLM)")
    scorer.head.load_state_dict(load_tensors(Path(path) / WEIGHTS_FILE))
    return scorer
