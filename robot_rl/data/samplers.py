"""Window samplers over in-memory episodes (EpisodeData) and offline/online mixing.

Indexing: an *anchor* is the "current" step t of a sample. Each sampler precomputes, once per data
version, the anchors it may draw plus each anchor's episode bounds, so drawing a batch is a handful of
vectorized numpy gathers (no Python loop over samples).

Window samples (WindowSampler), for anchor t in an episode with steps [start, end):
    obs[key]       (B, n_obs, *shape)   steps t-n_obs+1 .. t
    action         (B, horizon, A)      steps t .. t+horizon-1
Edge padding never crosses episodes: a step before `start` repeats step `start`, a step at or past
`end` repeats step `end-1`. `obs_is_pad` (B, n_obs) and `action_is_pad` (B, horizon) are True where
a value is such a repeat, so losses can ignore padded actions. Every step of every episode is an anchor.

Batches are dicts of numpy arrays (nested dicts for observations); `batch_to_torch` converts one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from robot_rl.data.episodes import EpisodeData

OBS_PREFIXES = ("state/", "image/", "depth/")
"""Keys with these prefixes are observations when a config leaves obs_keys empty."""
SOURCE_OFFLINE, SOURCE_ONLINE = 0, 1
"""Values of the `source` array in MixedSampler batches."""

Batch = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class WindowConfig:
    """Observation-history / action-horizon windows for behaviour cloning (diffusion policy)."""

    n_obs: int = 2
    """Observation steps per sample, ending at the anchor step t (t-n_obs+1 .. t)."""
    horizon: int = 16
    """Action steps per sample, starting at the anchor step t (t .. t+horizon-1)."""
    obs_keys: tuple[str, ...] = ()
    """Observation keys; empty = every key starting with state/, image/ or depth/."""
    action_key: str = "action"
    """Key of the (A,) action vector."""
    batch_size: int = 64
    """Samples per `sample()` call."""
    seed: int = 0
    """Seed of the numpy Generator that draws anchors."""


def resolve_obs_keys(data: EpisodeData, obs_keys: Sequence[str]) -> tuple[str, ...]:
    """`obs_keys` checked against the data, or the default (state/, image/, depth/ keys) when empty."""
    keys = tuple(obs_keys) or tuple(k for k in data.keys if k.startswith(OBS_PREFIXES))
    missing = [k for k in keys if k not in data.keys]
    if missing or not keys:
        raise KeyError(f"observation keys {missing or '(none)'} not in the data; keys: {data.keys}")
    return keys


def step_bounds(data: EpisodeData) -> tuple[np.ndarray, np.ndarray]:
    """(first, last): for every global step (n_steps,), the first and last step of its episode."""
    lengths = data.episode_lengths
    return np.repeat(data.episode_starts, lengths), np.repeat(data.episode_ends - 1, lengths)


def gather_steps(arrays: dict[str, np.ndarray], keys: Sequence[str], steps: np.ndarray, first: np.ndarray,
                 last: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Rows `steps` (B, k) of each key, clamped per sample into [first, last] (B,) = edge padding.

    Returns ({key: (B, k, *shape)}, is_pad (B, k) bool: True where the step was clamped).
    """
    idx = np.clip(steps, first[:, None], last[:, None])
    flat = idx.reshape(-1)
    # np.take on the flat index then reshape is the fastest numpy gather for large rows (images)
    out = {k: np.take(arrays[k], flat, axis=0).reshape(*idx.shape, *arrays[k].shape[1:]) for k in keys}
    return out, idx != steps


def obs_window(arrays: dict[str, np.ndarray], keys: Sequence[str], anchor: np.ndarray, first: np.ndarray,
               last: np.ndarray, n_obs: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Observations at steps anchor-n_obs+1 .. anchor (B, n_obs, *shape), edge-padded within [first, last]."""
    steps = anchor[:, None] + np.arange(1 - n_obs, 1)
    return gather_steps(arrays, keys, steps, first, last)


class AnchorSampler:
    """Base: draws anchors from an index rebuilt whenever the data gained episodes.

    Subclasses implement `_build_index() -> dict of (n_anchors,) arrays` (must hold "anchor") and
    `_gather(index, positions) -> Batch`.
    """

    def __init__(self, data: EpisodeData, batch_size: int, seed: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.data = data
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self._index: dict[str, np.ndarray] = {}
        self._built_for = -1

    def index(self) -> dict[str, np.ndarray]:
        """The anchor index for the data as it is now (rebuilt after `data.add_episode`)."""
        if self._built_for != self.data.n_episodes:
            self._index = self._build_index()
            self._built_for = self.data.n_episodes
        return self._index

    def __len__(self) -> int:
        """Number of anchors the sampler can draw."""
        return len(self.index()["anchor"])

    def sample(self, batch_size: int | None = None) -> Batch:
        """A batch of anchors drawn uniformly with replacement."""
        n = len(self)
        if n == 0:
            raise ValueError(f"no anchors to sample: {self.data!r}")
        return self.batch_at(self.rng.integers(0, n, size=batch_size or self.batch_size))

    def batch_at(self, positions: np.ndarray) -> Batch:
        """The batch for anchor positions (B,) (positions in the anchor index, not global steps)."""
        index = self.index()
        return self._gather(index, np.asarray(positions, dtype=np.int64))

    def iter_batches(self, batch_size: int | None = None) -> Iterator[Batch]:
        """Every anchor once, in order (episode by episode, step by step); the last batch may be short."""
        n, b = len(self), batch_size or self.batch_size
        for a in range(0, n, b):
            yield self.batch_at(np.arange(a, min(a + b, n)))

    def _build_index(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _gather(self, index: dict[str, np.ndarray], pos: np.ndarray) -> Batch:
        raise NotImplementedError


class WindowSampler(AnchorSampler):
    """Observation-history + action-chunk windows (see the module docstring for padding).

    Batch: obs {key: (B, n_obs, *shape)}, obs_is_pad (B, n_obs) bool, action (B, horizon, A),
    action_is_pad (B, horizon) bool, anchor (B,) int64 global step of t, episode (B,) int64.
    """

    def __init__(self, data: EpisodeData, cfg: WindowConfig = WindowConfig()) -> None:
        if cfg.n_obs < 1 or cfg.horizon < 1:
            raise ValueError(f"n_obs and horizon must be >= 1, got {cfg.n_obs}, {cfg.horizon}")
        super().__init__(data, cfg.batch_size, cfg.seed)
        self.cfg = cfg
        self.obs_keys = resolve_obs_keys(data, cfg.obs_keys)
        if cfg.action_key not in data.keys:
            raise KeyError(f"action key {cfg.action_key!r} not in the data; keys: {data.keys}")

    def _build_index(self) -> dict[str, np.ndarray]:
        first, last = step_bounds(self.data)
        return {"anchor": np.arange(self.data.n_steps, dtype=np.int64), "first": first, "last": last}

    def _gather(self, index: dict[str, np.ndarray], pos: np.ndarray) -> Batch:
        t, first, last = index["anchor"][pos], index["first"][pos], index["last"][pos]
        arrays = self.data.data
        obs, obs_pad = obs_window(arrays, self.obs_keys, t, first, last, self.cfg.n_obs)
        steps = t[:, None] + np.arange(self.cfg.horizon)
        act, act_pad = gather_steps(arrays, [self.cfg.action_key], steps, first, last)
        return {"obs": obs, "obs_is_pad": obs_pad, "action": act[self.cfg.action_key],
                "action_is_pad": act_pad, "anchor": t,
                "episode": np.searchsorted(self.data.episode_ends, t, side="right")}


class MixedSampler:
    """Batches with round(online_fraction * B) samples from `online` and the rest from `offline` (RLPD);
    `online_fraction=None` draws in proportion to the two samplers' anchor counts (uniform over both).

    Both samplers must be the same kind (same batch keys). The online sampler's data may grow between
    calls. While it has no anchors the whole batch comes from `offline`. Batches gain `source` (B,) uint8:
    SOURCE_OFFLINE (0) for the first rows, SOURCE_ONLINE (1) for the rest.
    """

    def __init__(self, offline: AnchorSampler, online: AnchorSampler, online_fraction: float | None = 0.5,
                 batch_size: int | None = None) -> None:
        if online_fraction is not None and not 0.0 <= online_fraction <= 1.0:
            raise ValueError(f"online_fraction must be in [0, 1], got {online_fraction}")
        self.offline, self.online = offline, online
        self.online_fraction = online_fraction
        self.batch_size = batch_size or offline.batch_size

    def split(self, batch_size: int) -> tuple[int, int]:
        """(n_offline, n_online) for a batch of `batch_size` given the data available now."""
        fraction = self.online_fraction
        if fraction is None:
            fraction = len(self.online) / max(len(self.online) + len(self.offline), 1)
        n_on = round(fraction * batch_size) if len(self.online) else 0
        if len(self.offline) == 0:  # pure online fine-tuning (WSRL drops offline data)
            n_on = batch_size
        return batch_size - n_on, n_on

    def sample(self, batch_size: int | None = None) -> Batch:
        n_off, n_on = self.split(batch_size or self.batch_size)
        parts, sources = [], []
        for sampler, n, src in ((self.offline, n_off, SOURCE_OFFLINE), (self.online, n_on, SOURCE_ONLINE)):
            if n:
                parts.append(sampler.sample(n))
                sources.append(np.full(n, src, dtype=np.uint8))
        batch = concat_batches(parts)
        batch["source"] = np.concatenate(sources)
        return batch


def concat_batches(batches: Sequence[Batch]) -> Batch:
    """Concatenate batches (nested dicts of arrays with the same structure) along axis 0."""
    first = batches[0]
    if len(batches) == 1:
        return dict(first)
    return {k: concat_batches([b[k] for b in batches]) if isinstance(v, dict)
            else np.concatenate([b[k] for b in batches]) for k, v in first.items()}


def batch_to_torch(batch: Batch, device: Any = "cpu") -> dict[str, Any]:
    """Same structure with torch tensors (shares memory on CPU; bool masks stay bool)."""
    import torch

    return {k: batch_to_torch(v, device) if isinstance(v, dict)
            else torch.from_numpy(np.asarray(v)).to(device) for k, v in batch.items()}
