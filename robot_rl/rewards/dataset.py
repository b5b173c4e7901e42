"""Per-frame success labels from what an EpisodeStore already holds.

Label sources (`LabelConfig.source`):
- "success": the per-step `success` key — the privileged predicate *at the observation*, written by
  `robot-rl reward collect` on the mirror. Ground truth for evaluation, not available on hardware.
- "reward": the recorder's per-step `reward` (1 when the success predicate / operator says the task is
  done *after* the step's action, i.e. at the next observation), shifted by one step so that frame t is
  labelled with reward[t-1]; frame 0 is labelled 0 (the reset scene is not a success).
- "last_k": only the episode's success label (operator button): the last `last_k` frames of successful
  episodes are positives, their frames before `last_k + margin` from the end negatives, the frames in
  between ignored (ambiguous); every frame of a failed episode is negative; unlabelled episodes are ignored.
- "auto": "reward" when the store has a `reward` key with positives after the shift, else "last_k".
Labels are 1 / 0, and -1 for ignored frames.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import numpy as np

from robot_rl.data.episodes import EpisodeData
from robot_rl.data.store import EpisodeStore

LabelSource = Literal["auto", "success", "reward", "last_k"]


@dataclasses.dataclass(frozen=True)
class LabelConfig:
    """Where per-frame success labels come from."""

    source: LabelSource = "auto"
    """"auto", "success" (privileged per-frame key), "reward" (recorder reward, shifted) or "last_k"."""
    last_k: int = 5
    """"last_k": positives per successful episode, counted from its end."""
    margin: int = 10
    """"last_k": frames before the positives of a successful episode that are left out as ambiguous."""


@dataclasses.dataclass
class Frames:
    """Frames of some episodes, concatenated: images {key: (N, H, W, 3) uint8}, labels (N,) int8,
    episode_ends (E,) int64 cumulative, episode_ids (E,) store indices."""

    images: dict[str, np.ndarray]
    labels: np.ndarray
    episode_ends: np.ndarray
    episode_ids: np.ndarray

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def step_episode(self) -> np.ndarray:
        """(N,) position (0..E-1) of each frame's episode in this set."""
        return np.repeat(np.arange(len(self.episode_ends)), np.diff(self.episode_ends, prepend=0))

    @property
    def step_time(self) -> np.ndarray:
        """(N,) index of each frame within its episode."""
        starts = np.concatenate([[0], self.episode_ends[:-1]])
        return np.arange(self.n) - np.repeat(starts, np.diff(self.episode_ends, prepend=0))


def image_keys(store: EpisodeStore, cameras: Sequence[str] = ()) -> tuple[str, ...]:
    """`image/<cam>` keys: the given cameras (names or keys) or every image key of the store."""
    keys = tuple(c if c.startswith("image/") else f"image/{c}" for c in cameras)
    keys = keys or tuple(k for k in store.keys if k.startswith("image/"))
    missing = [k for k in keys if k not in store.specs]
    if missing or not keys:
        raise KeyError(f"{store.path} has no camera keys {missing or '(none at all)'}; "
                       f"image keys: {[k for k in store.keys if k.startswith('image/')]}")
    return keys


def resolve_source(store: EpisodeStore, cfg: LabelConfig) -> str:
    if cfg.source != "auto":
        return cfg.source
    if "reward" in store.specs and store.n_steps:
        reward = np.asarray(store.array("reward")[: store.n_steps])
        ends = store.episode_ends
        shifted_pos = np.ones(len(reward), dtype=bool)
        shifted_pos[ends - 1] = False  # the last step's reward labels a frame that was never stored
        if np.any((reward > 0.5) & shifted_pos):
            return "reward"
    return "last_k"


def load_frames(store: EpisodeStore, episodes: Sequence[int] | np.ndarray, cameras: tuple[str, ...],
                cfg: LabelConfig = LabelConfig()) -> Frames:
    """Images of `cameras` and labels for the given store episodes (see the module docstring)."""
    source = resolve_source(store, cfg)
    label_key = {"success": "success", "reward": "reward"}.get(source)
    if label_key is not None and label_key not in store.specs:
        raise KeyError(f"label source {source!r} needs the per-step key {label_key!r}, "
                       f"which {store.path} lacks")
    ids = np.asarray(episodes, dtype=np.int64)
    data = EpisodeData.from_store(store, [*cameras, *([label_key] if label_key else [])], ids)
    metas = store.all_meta()
    labels = []
    for pos, i in enumerate(ids):
        ep = data.episode(pos)
        n = len(ep[cameras[0]])
        labels.append(_episode_labels(source, ep.get(label_key), n, metas[int(i)].success, cfg))
    return Frames({c: data[c] for c in cameras}, np.concatenate(labels).astype(np.int8) if labels else
                  np.zeros(0, np.int8), data.episode_ends.copy(), ids)


def concat_frames(parts: Sequence[Frames]) -> Frames:
    """One Frames of several (e.g. from different stores); episode_ids keep each part's store indices."""
    ends = [p.episode_ends + off for p, off in zip(parts, np.cumsum([0, *[p.n for p in parts[:-1]]]),
                                                     strict=True)]
    return Frames({k: np.concatenate([p.images[k] for p in parts]) for k in parts[0].images},
                  np.concatenate([p.labels for p in parts]), np.concatenate(ends).astype(np.int64),
                  np.concatenate([p.episode_ids for p in parts]))


def _episode_labels(source: str, values: np.ndarray | None, n: int, success: int,
                    cfg: LabelConfig) -> np.ndarray:
    if source == "success":
        return (np.asarray(values) > 0.5).astype(np.int8)
    if source == "reward":
        out = np.zeros(n, np.int8)
        out[1:] = np.asarray(values)[:-1] > 0.5
        return out
    if success == 1:
        out = np.full(n, -1, np.int8)
        out[max(0, n - cfg.last_k):] = 1
        out[: max(0, n - cfg.last_k - cfg.margin)] = 0
        return out
    return np.zeros(n, np.int8) if success == 0 else np.full(n, -1, np.int8)
