"""Preference-based reward (RL-VLM-F): a labeller compares two frames (a VLM judge, an operator, or on
the mirror the privileged success label), "unsure" answers are dropped, and a reward network r(o) is fit
with the Bradley–Terry model P(a ≻ b) = σ(r(a) − r(b)). The network is the success classifier's
(per-camera CNN + MLP); its score is σ(r(o)), saved and loaded like a classifier (kind "preference")."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from robot_rl.rewards.classifier import ClassifierConfig, ClassifierScorer, SuccessClassifier, load_classifier
from robot_rl.rewards.dataset import Frames

Labeller = Callable[[Mapping[str, np.ndarray], Mapping[str, np.ndarray]], "int | None"]
"""(frames of a, frames of b) as {key: (H, W, 3)} → 0 if a is better, 1 if b is, None if unsure."""


@dataclasses.dataclass(frozen=True)
class PreferenceConfig:
    """Bradley–Terry reward model training."""

    pairs: int = 500
    """Frame pairs sent to the labeller (unsure answers are dropped)."""
    net: ClassifierConfig = ClassifierConfig(steps=600)
    """Reward network (the classifier's) and optimiser settings; `batch_size` counts pairs."""


def judge_labeller(judge) -> Labeller:
    """An `HttpJudge` as a labeller (asks which of two moments shows more progress)."""
    return lambda a, b: judge.compare([a[c] for c in judge.cameras], [b[c] for c in judge.cameras])


def label_labeller(labels: np.ndarray) -> Callable[[int, int], int | None]:
    """Mirror / recorder labels as preferences over frame indices: the successful frame wins, ties unsure."""
    def label(i: int, j: int) -> int | None:
        if labels[i] == labels[j] or min(labels[i], labels[j]) < 0:
            return None
        return int(labels[j] > labels[i])

    return label


def collect_preferences(frames: Frames, labeller: Labeller | Callable[[int, int], int | None], n_pairs: int,
                        seed: int = 0, by_index: bool = False) -> np.ndarray:
    """(M, 3) int64 rows (i, j, winner 0/1) over frame indices; unsure pairs dropped. `by_index`: the
    labeller takes frame indices instead of images."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_pairs):
        i, j = rng.choice(frames.n, 2, replace=False)
        if by_index:
            w = labeller(int(i), int(j))
        else:
            w = labeller({k: v[i] for k, v in frames.images.items()},
                         {k: v[j] for k, v in frames.images.items()})
        if w is not None:
            rows.append((i, j, int(w)))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def train_bradley_terry(frames: Frames, prefs: np.ndarray,
                        cfg: PreferenceConfig) -> tuple[ClassifierScorer, dict]:
    """Fit r(o) so that σ(r(o_j) − r(o_i)) matches the winner column of `prefs`; returns the scorer and a log
    (loss and pair accuracy at the start and end)."""
    if len(prefs) == 0:
        raise ValueError("no usable preference pairs (every answer was unsure)")
    c = cfg.net
    torch.manual_seed(c.seed)
    gen = torch.Generator().manual_seed(c.seed)
    rng = np.random.default_rng(c.seed)
    net = SuccessClassifier({k: v.shape[1:3] for k, v in frames.images.items()}, c)
    opt = torch.optim.AdamW(net.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    losses, accs, t0 = [], [], time.monotonic()
    for _ in range(c.steps):
        rows = prefs[rng.integers(0, len(prefs), c.batch_size)]
        idx = np.concatenate([rows[:, 0], rows[:, 1]])
        r = net({k: torch.from_numpy(v[idx]) for k, v in frames.images.items()}, augment=True, generator=gen)
        diff = r[len(rows):] - r[: len(rows)]  # logit of "b (second) wins"
        target = torch.from_numpy(rows[:, 2]).float()
        loss = nn.functional.binary_cross_entropy_with_logits(diff, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        accs.append(float(((diff > 0).float() == target).float().mean()))
        if time.monotonic() - t0 > c.minutes * 60:
            break
    w = max(1, min(50, len(losses) // 4))
    log = {"steps": len(losses), "pairs": len(prefs), "seconds": time.monotonic() - t0,
           "loss_first": float(np.mean(losses[:w])), "loss_last": float(np.mean(losses[-w:])),
           "pair_accuracy_first": float(np.mean(accs[:w])), "pair_accuracy_last": float(np.mean(accs[-w:]))}
    return ClassifierScorer(net), log


def load_preference(path: Path, meta: dict[str, Any]) -> ClassifierScorer:
    return load_classifier(path, meta)
