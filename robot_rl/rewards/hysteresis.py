"""Hysteresis over k consecutive frames, and choosing the threshold (and k) for a precision target.

A false success poisons RL (the episode ends and the transition is rewarded), so the threshold must reach
the precision target — measured per frame, after hysteresis, on held-out episodes; lower thresholds would
buy recall with precision — and, as the episode ends at the first flag, so must the first flags
(`first_flags`): a false frame barely moves per-frame precision but ends its episode with a success. Among
the thresholds that reach both, the lowest has the most recall; a small recall slack moves it up for
margin (`choose_threshold`). k is chosen the same way (`choose_hysteresis`): larger k removes isolated
false frames but loses the first k - 1 frames of every success.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np


class Hysteresis:
    """Streaming: the flag rises after `k` consecutive frames above threshold and falls on the first below."""

    def __init__(self, k: int) -> None:
        if k < 1:
            raise ValueError(f"hysteresis needs k >= 1 consecutive frames, got {k}")
        self.k = int(k)
        self.count = 0

    def reset(self) -> None:
        self.count = 0

    def update(self, above: bool) -> bool:
        self.count = self.count + 1 if above else 0
        return self.count >= self.k


def hysteresis_flags(above: np.ndarray, episode_ends: np.ndarray, k: int) -> np.ndarray:
    """Offline `Hysteresis` over concatenated episodes: (N,) bool, flag[t] = the k frames ending at t
    (within t's episode) are all above. Matches feeding each episode to a fresh `Hysteresis(k)`."""
    above = np.asarray(above, dtype=bool)
    idx = np.arange(len(above))
    # run length at t = t - (last index <= t that breaks the run); a run breaks at a frame below the
    # threshold and just before each episode's first frame
    breaks = np.where(above, -1, idx)
    starts = np.concatenate([[0], np.asarray(episode_ends, dtype=np.int64)[:-1]])
    breaks[starts] = np.maximum(breaks[starts], starts - 1)
    run = idx - np.maximum.accumulate(breaks) if len(above) else idx
    return run >= k


@dataclasses.dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    """Chosen probability threshold."""
    precision: float
    """Per-frame precision after hysteresis at the threshold, on the selection episodes."""
    recall: float
    """Per-frame recall after hysteresis at the threshold, on the selection episodes."""
    met_target: bool
    """False when no threshold reached the precision target (the most precise one was taken)."""
    k: int = 1
    """Hysteresis frames the threshold was chosen for."""
    first_flag_precision: float | None = None
    """Fraction of the episodes' first flags that fall on a positive frame (`first_flags`)."""


def first_flags(flags: np.ndarray, labels: np.ndarray, episode_ends: np.ndarray) -> dict[str, float | None]:
    """What RL episodes ended by their first flag get: per episode the first flagged frame is "right"
    (labelled 1) or "early" (labelled 0: a false success, in a failed episode or before the real one;
    -1 counts as neither); episodes with positive frames and no flag are "missed".
    first_flag_precision = right / (right + early), first_flag_recall = right / episodes with positives."""
    right = early = missed = with_pos = 0
    for a, b in zip(np.concatenate([[0], episode_ends[:-1]]), episode_ends, strict=True):
        lab, hit = labels[a:b], np.flatnonzero(flags[a:b])
        with_pos += bool(np.any(lab == 1))
        if len(hit):
            right += int(lab[hit[0]] == 1)
            early += int(lab[hit[0]] == 0)
        else:
            missed += bool(np.any(lab == 1))
    return {"first_flag_right": right, "first_flag_early": early, "first_flag_missed": missed,
            "first_flag_precision": right / (right + early) if right + early else None,
            "first_flag_recall": right / with_pos if with_pos else None}


def choose_threshold(probs: np.ndarray, labels: np.ndarray, episode_ends: np.ndarray, k: int,
                     target_precision: float, min_threshold: float = 0.0, recall_slack: float = 0.0,
                     target_first_flag: float = 0.0, n_candidates: int = 200) -> ThresholdChoice:
    """Threshold >= `min_threshold` whose hysteresis precision on these frames (labels 1/0, -1 ignored)
    reaches `target_precision` and whose first-flag precision reaches `target_first_flag`: with
    `recall_slack` = 0 the lowest such (the highest recall), else the highest whose recall is within
    `recall_slack` of that.

    `target_first_flag` is what RL sees: with k = 1, pick_cube's classifier reached per-frame precision 0.995
    on 60 development episodes, yet 4 of its 40 first flags came one frame before the cube counted as lifted
    (noisy demos), each ending its episode with a success the predicate does not grant; states just short
    of success are also the ones a policy learns to exploit. Its validation episodes held one such; with a
    first-flag target of 0.99 the choice moved from threshold 0.52 to 0.90 (k = 1 still: k = 2 at 0.52 had
    slightly less validation recall), and on the development episodes the early first flags went from 4 to
    1 while per-frame recall went from 0.978 to 0.932.

    `min_threshold` keeps a margin when the selection episodes separate perfectly: then every threshold
    meets the target and the lowest would sit at the edge of the negatives seen, far below where a
    classifier trained on balanced batches puts its decision boundary (0.5). Measured on pick_cube: the
    lowest passing threshold on validation (0.011) gave 0.92 precision on held-out episodes, 0.5 gave 0.997.

    `recall_slack` buys margin on the other side. Validation episodes rarely hold the negatives that sit
    just short of success for many frames (a peg creeping from 28.5 to 29.9 mm deep, 30 mm being success),
    where the score rises smoothly through the middle of the range; raising the threshold while validation
    recall barely moves keeps them out. Slack 0.02 on two development sets of 60 mirror episodes (never the
    bench's held-out scenes), one with a creeping near miss and one without: peg_insert's threshold went from
    0.5 to 0.85, precision 0.972 → 1.000 and 1.000 → 1.000, recall 0.992 → 0.925 and 0.993 → 0.933;
    drawer_open's from 0.5 to 0.90, precision 0.989 → 1.000 and 0.996 → 0.998, recall 0.998 → 0.980 and
    0.997 → 0.985; pick_cube's stayed at 0.52. It is insurance: it costs recall where there is no near miss.

    Candidates: quantiles of the scores plus a fine grid near 1. With no positive flags precision is
    undefined and counts as unmet. When nothing meets the targets, the most precise threshold (ties: the
    higher first-flag precision, then recall) is returned with `met_target=False`.
    """
    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels)
    if not np.any(labels == 1):
        raise ValueError("no positive frames to choose a threshold on")
    grid = np.concatenate([np.quantile(probs, np.linspace(0, 1, n_candidates)), 1 - np.logspace(-6, -1, 30),
                           [0.5, min_threshold]])
    grid = grid[grid >= min_threshold]
    passing: list[ThresholdChoice] = []
    fallback: ThresholdChoice | None = None
    for thr in np.unique(np.clip(grid, 0.0, 1.0)):
        flags = hysteresis_flags(probs >= thr, episode_ends, k)
        prec, rec = _precision_recall(flags, labels)
        ffp = first_flags(flags, labels, episode_ends)["first_flag_precision"] or 0.0
        met = prec >= target_precision and ffp >= target_first_flag
        choice = ThresholdChoice(float(thr), prec, rec, met, int(k), ffp)
        if choice.met_target:
            passing.append(choice)  # ascending thresholds
        if fallback is None or (prec, ffp, rec) > (fallback.precision, fallback.first_flag_precision,
                                                   fallback.recall):
            fallback = choice
    if not passing:
        return fallback  # type: ignore[return-value]
    best_recall = max(c.recall for c in passing)
    if recall_slack <= 0:
        return next(c for c in passing if c.recall == best_recall)
    return [c for c in passing if c.recall >= best_recall - recall_slack][-1]


def choose_hysteresis(probs: np.ndarray, labels: np.ndarray, episode_ends: np.ndarray, ks: Sequence[int],
                      target_precision: float, min_threshold: float = 0.0, recall_slack: float = 0.0,
                      target_first_flag: float = 0.0) -> ThresholdChoice:
    """The hysteresis length in `ks` and its threshold (`choose_threshold`) with the highest recall among
    those meeting the targets; ties go to the smaller k (less delay). When none meets them, the most
    precise choice (ties: the higher first-flag precision, then recall).

    Why choose k at all: every success segment loses its first k - 1 frames to the hysteresis, so k caps
    recall at 1 - (k - 1) / (segment length): 0.90 for k = 3 on the mirror's 20-frame success tails.
    """
    if not ks:
        raise ValueError("no hysteresis lengths to choose from")
    choices = [choose_threshold(probs, labels, episode_ends, k, target_precision, min_threshold, recall_slack,
                                target_first_flag) for k in sorted(set(int(k) for k in ks))]
    met = [c for c in choices if c.met_target]
    if met:
        return max(met, key=lambda c: (c.recall, -c.k))
    return max(choices, key=lambda c: (c.precision, c.first_flag_precision, c.recall, -c.k))


def _precision_recall(flags: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    valid = labels >= 0
    tp = int(np.sum(flags & (labels == 1) & valid))
    fp = int(np.sum(flags & (labels == 0) & valid))
    pos = int(np.sum(labels == 1))
    return (tp / (tp + fp) if tp + fp else 0.0), (tp / pos if pos else 0.0)
