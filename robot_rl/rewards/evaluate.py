"""Reward evaluation on held-out episodes: per-frame precision/recall after hysteresis, per-episode false
positives, and a PNG of the hardest mistakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.rewards.base import Scorer
from robot_rl.rewards.dataset import Frames
from robot_rl.rewards.hysteresis import first_flags, hysteresis_flags


def predict_frames(scorer: Scorer, frames: Frames, batch: int = 512) -> np.ndarray:
    """(N,) probabilities for every frame, in batches."""
    out = [scorer.predict({k: v[a:a + batch] for k, v in frames.images.items() if k in scorer.cameras})
           for a in range(0, frames.n, batch)]
    return np.concatenate(out) if out else np.zeros(0)


def metrics(probs: np.ndarray, frames: Frames, threshold: float, k: int) -> dict[str, Any]:
    """Per-frame (after k-frame hysteresis) and per-episode numbers against `frames.labels` (-1 ignored).

    - precision / recall / frame_fpr: flagged frames vs labelled frames;
    - episode_fp_rate: fraction of episodes with at least one flagged frame labelled 0;
    - failed_episode_false_success: fraction of episodes with no positive frame that get flagged at all;
    - success_episode_detected: fraction of episodes with positive frames where the flag rises on one;
    - delay_mean / delay_max: frames from the start of each success segment (a run of positive frames) to
      the first flagged frame in it (k - 1 at best), over the segments detected; segments_missed: the rest;
    - first_flag_*: what an RL episode consumes when the first flag ends it (`LearnedReward`): per episode
      the first flagged frame is "right" (labelled 1) or "early" (labelled 0: a false success, in a failed
      episode or before the real one); episodes with positives and no flag are "missed".
      first_flag_precision = right / (right + early), first_flag_recall = right / episodes with positives;
    - raw_*: the same per-frame numbers without hysteresis (k = 1).
    """
    labels = frames.labels
    out: dict[str, Any] = {"threshold": float(threshold), "k": int(k), "frames": int(np.sum(labels >= 0)),
                           "positive_frames": int(np.sum(labels == 1)), "episodes": len(frames.episode_ends)}
    for prefix, kk in (("", k), ("raw_", 1)):
        flags = hysteresis_flags(probs >= threshold, frames.episode_ends, kk)
        out |= {prefix + key: v for key, v in _frame_counts(flags, labels).items()}
    flags = hysteresis_flags(probs >= threshold, frames.episode_ends, k)
    ep = frames.step_episode
    n_eps = len(frames.episode_ends)
    fp_eps = np.bincount(ep[flags & (labels == 0)], minlength=n_eps) > 0
    has_pos = np.bincount(ep[labels == 1], minlength=n_eps) > 0
    flagged = np.bincount(ep[flags], minlength=n_eps) > 0
    hit = np.bincount(ep[flags & (labels == 1)], minlength=n_eps) > 0
    out["episode_fp_rate"] = float(fp_eps.mean()) if n_eps else 0.0
    out["failed_episode_false_success"] = float(flagged[~has_pos].mean()) if np.any(~has_pos) else None
    out["success_episode_detected"] = float(hit[has_pos].mean()) if np.any(has_pos) else None
    ends = frames.episode_ends
    return out | _delays(flags, labels, ends) | first_flags(flags, labels, ends)


def _delays(flags: np.ndarray, labels: np.ndarray, episode_ends: np.ndarray) -> dict[str, Any]:
    delays, missed, start = [], 0, 0
    for end in np.asarray(episode_ends, dtype=np.int64):
        pos, flag = labels[start:end] == 1, flags[start:end]
        edges = np.diff(np.concatenate([[0], pos.astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            hit = np.flatnonzero(flag[a:b])
            if len(hit):
                delays.append(int(hit[0]))
            else:
                missed += 1
        start = end
    return {"delay_mean": float(np.mean(delays)) if delays else None,
            "delay_max": int(np.max(delays)) if delays else None, "segments_missed": missed}


def _frame_counts(flags: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    tp = int(np.sum(flags & (labels == 1)))
    fp = int(np.sum(flags & (labels == 0)))
    fn = int(np.sum(~flags & (labels == 1)))
    tn = int(np.sum(~flags & (labels == 0)))
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": tp / (tp + fp) if tp + fp else None, "recall": tp / (tp + fn) if tp + fn else None,
            "frame_fpr": fp / (fp + tn) if fp + tn else None}


def hardest_mistakes(probs: np.ndarray, frames: Frames, threshold: float, out: Path, n: int = 8) -> Path:
    """A PNG with the `n` most confident false positives (top row) and false negatives (bottom row) by
    raw probability; cameras side by side, titled with store episode, step, probability and label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = frames.labels
    neg, pos = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)
    rows = [("false positive", neg[np.argsort(-probs[neg])][:n]),
            ("false negative", pos[np.argsort(probs[pos])][:n])]
    fig, axes = plt.subplots(2, n, figsize=(2.2 * n, 5.2), squeeze=False)
    ep, t = frames.step_episode, frames.step_time
    for r, (name, idx) in enumerate(rows):
        for c in range(n):
            ax = axes[r][c]
            ax.axis("off")
            if c >= len(idx):
                continue
            i = idx[c]
            ax.imshow(np.concatenate([v[i] for v in frames.images.values()], axis=1))
            wrong = (probs[i] >= threshold) != bool(labels[i])
            what = name if wrong else f"right, barely ({'positive' if labels[i] else 'negative'})"
            ax.set_title(f"{what}\nep {frames.episode_ids[ep[i]]} "
                         f"t {t[i]} p={probs[i]:.3f}", fontsize=7, color="red" if wrong else "black")
    fig.suptitle(f"hardest frames (threshold {threshold:.3f}; red = a mistake at that threshold)", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out
