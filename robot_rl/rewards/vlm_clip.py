"""Zero-shot success scoring with a CLIP/SigLIP-style model and goal/baseline prompts.

Modes:
- "softmax": p = softmax(logit_scale · [cos(x, g), cos(x, b)])[0], with g, b the mean goal / baseline
  prompt embeddings (re-normalised) and x the frame embedding;
- "projection" (VLM-RM, Rocamonde et al.): r = 1 − ½‖(x − g)P‖², P the projection onto the direction
  g − b (α = 1); reported as clip(r, 0, 1). Uncalibrated: choose the threshold on labelled episodes.
Several cameras: the mean of the per-camera probabilities.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np


@dataclasses.dataclass(frozen=True)
class ClipConfig:
    """Zero-shot CLIP/SigLIP scoring."""

    model_dir: Path = Path("models/clip")
    """Local directory of a transformers CLIP/SigLIP model (save_pretrained layout); never downloaded."""
    goal: tuple[str, ...] = ()
    """Prompts describing success; empty = the store's task prompt."""
    baseline: tuple[str, ...] = ("a robot arm next to objects on a table",)
    """Prompts describing the scene without success."""
    mode: Literal["softmax", "projection"] = "softmax"
    """"softmax" over goal vs baseline, or the VLM-RM goal-baseline "projection" reward."""
    batch: int = 32
    """Frames per forward pass."""


class ClipScorer:
    """`Scorer` from a local CLIP/SigLIP model and prompts."""

    def __init__(self, cfg: ClipConfig, cameras: tuple[str, ...]) -> None:
        from robot_rl.rewards.vlm_common import VlmEncoder

        if not cfg.goal:
            raise ValueError("ClipScorer needs at least one goal prompt")
        self.cfg, self.cameras = cfg, tuple(cameras)
        self.encoder = VlmEncoder(cfg.model_dir, cfg.batch)
        t = self.encoder.texts([*cfg.goal, *cfg.baseline])
        g, b = t[: len(cfg.goal)].mean(0), t[len(cfg.goal):].mean(0)
        self.goal = (g / g.norm()).double().numpy()
        self.base = (b / b.norm()).double().numpy()

    def predict(self, images: Mapping[str, np.ndarray]) -> np.ndarray:
        from robot_rl.rewards.base import check_images

        check_images(images, self.cameras)
        probs = [self._probs(self.encoder.images(images[c]).double().numpy()) for c in self.cameras]
        return np.mean(probs, axis=0)

    def _probs(self, x: np.ndarray) -> np.ndarray:
        if self.cfg.mode == "softmax":
            logits = self.encoder.logit_scale * np.stack([x @ self.goal, x @ self.base], axis=1)
            logits -= logits.max(axis=1, keepdims=True)
            e = np.exp(logits)
            return e[:, 0] / e.sum(axis=1)
        d = self.goal - self.base
        d /= max(np.linalg.norm(d), 1e-12)
        r = 1.0 - 0.5 * ((x - self.goal) @ d) ** 2
        return np.clip(r, 0.0, 1.0)

    def config_json(self) -> dict[str, Any]:
        return {"clip": dataclasses.asdict(self.cfg) | {"model_dir": str(self.encoder.path)},
                "cameras": list(self.cameras)}


def load_clip_scorer(path: Path, meta: dict[str, Any]) -> ClipScorer:
    c = dict(meta["config"]["clip"])
    cfg = ClipConfig(model_dir=Path(c.pop("model_dir")), goal=tuple(c.pop("goal")),
                     baseline=tuple(c.pop("baseline")), **c)
    return ClipScorer(cfg, tuple(meta["config"]["cameras"]))
