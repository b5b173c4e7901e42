"""EpisodeData: episodes held in memory, step-major, for training (offline data and the online replay buffer).

Layout mirrors the EpisodeStore: `data[key]` is (total_steps, *shape) with episodes concatenated along
axis 0, and `episode_ends` holds the int64 cumulative end of each episode. Episodes are never empty.
The arrays live in buffers with spare capacity so `add_episode` is amortized O(episode length).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from robot_rl.data.store import EpisodeStore

_PROGRESS_BYTES = 256 << 20
"""Loads larger than this show a tqdm progress bar when `progress` is left at None."""


class EpisodeData:
    """In-memory episodes: `data[key]` (n_steps, *shape) and `episode_ends` (n_episodes,) int64 cumulative.

    `data` and `episode_ends` are views of growable buffers: take them again after `add_episode`,
    which may reallocate (samplers read them on every call for this reason).
    """

    def __init__(self, data: Mapping[str, np.ndarray], episode_ends: Sequence[int] | np.ndarray) -> None:
        ends = np.asarray(episode_ends, dtype=np.int64).reshape(-1)
        if len(ends) and (ends[0] <= 0 or np.any(np.diff(ends) <= 0)):
            raise ValueError(f"episode_ends must be strictly increasing and positive, got {ends[:10]}...")
        n = int(ends[-1]) if len(ends) else 0
        for key, arr in data.items():
            if arr.ndim < 1 or len(arr) != n:
                raise ValueError(f"data[{key!r}] has {len(arr) if arr.ndim else 'no'} steps, "
                                 f"episode_ends says {n}")
        self._buf: dict[str, np.ndarray] = {k: np.asarray(v) for k, v in data.items()}
        self._ends = ends.copy()
        self._n_eps = len(ends)

    # ------------------------------------------------------------------ construction
    @classmethod
    def empty(cls, specs: Mapping[str, Any], capacity: int = 0) -> EpisodeData:
        """No episodes yet; `specs` maps key -> anything with `.shape` (per step) and `.dtype` (a KeySpec),
        or a (shape, dtype) pair. `capacity` preallocates that many steps."""
        data = {}
        for key, spec in specs.items():
            shape, dtype = (spec.shape, spec.dtype) if hasattr(spec, "shape") else spec
            data[key] = np.empty((capacity, *shape), dtype=dtype)
        out = cls({k: v[:0] for k, v in data.items()}, [])
        out._buf = data  # keep the preallocated rows as capacity
        return out

    def empty_like(self, capacity: int = 0) -> EpisodeData:
        """An empty EpisodeData with the same keys, per-step shapes and dtypes (e.g. an online buffer)."""
        return EpisodeData.empty({k: (v.shape[1:], v.dtype) for k, v in self._buf.items()}, capacity)

    @classmethod
    def from_store(cls, store: EpisodeStore, keys: Sequence[str] | None = None,
                   episodes: Sequence[int] | np.ndarray | None = None,
                   progress: bool | None = None) -> EpisodeData:
        """Load `episodes` (default all committed) of `store` for `keys` (default all) into memory.

        Each episode is read as one slice per key (zarr reads a slice with concurrent chunk fetches;
        per-row reads cost ~0.5 ms each). `progress`: tqdm bar; None shows it for loads > 256 MiB.
        """
        keys = list(keys) if keys is not None else store.keys
        ids = np.arange(store.n_episodes) if episodes is None else np.asarray(episodes, dtype=np.int64)
        slices = [store.episode_slice(int(i)) for i in ids]
        lengths = np.array([s.stop - s.start for s in slices], dtype=np.int64)
        total = int(lengths.sum())
        arrays = {k: store.array(k) for k in keys}
        data = {k: np.empty((total, *a.shape[1:]), dtype=a.dtype) for k, a in arrays.items()}
        nbytes = sum(v.nbytes for v in data.values())
        show = nbytes > _PROGRESS_BYTES if progress is None else progress
        pos = 0
        for sl in _progress(slices, show, f"loading {len(ids)} episodes ({nbytes / 2**20:.0f} MiB)"):
            n = sl.stop - sl.start
            for k, arr in arrays.items():
                data[k][pos:pos + n] = arr[sl]
            pos += n
        return cls(data, np.cumsum(lengths))

    # ------------------------------------------------------------------ growing
    def add_episode(self, steps: Mapping[str, np.ndarray]) -> int:
        """Append one episode, step-major arrays (T, *shape) with T >= 1 for every key; returns its index.

        Values are cast to the stored dtype when numpy allows it as "same_kind" (float64 -> float32,
        bool -> uint8).
        """
        steps = {k: np.asarray(v) for k, v in steps.items()}
        self._check_episode(steps)
        t = len(next(iter(steps.values()))) if steps else 0
        start = self.n_steps
        self._reserve(start + t, self._n_eps + 1)
        for key, value in steps.items():
            self._buf[key][start:start + t] = value
        self._ends[self._n_eps] = start + t
        self._n_eps += 1
        return self._n_eps - 1

    def _check_episode(self, steps: dict[str, np.ndarray]) -> None:
        if steps.keys() != self._buf.keys():
            raise KeyError(f"episode keys {sorted(steps)} differ from the data's keys {sorted(self._buf)}")
        lengths = {k: len(v) if v.ndim else 0 for k, v in steps.items()}
        if len(set(lengths.values())) != 1 or min(lengths.values()) < 1:
            raise ValueError(f"every key needs the same number (>= 1) of steps, got {lengths}")
        for key, value in steps.items():
            buf = self._buf[key]
            if value.shape[1:] != buf.shape[1:] or not np.can_cast(value.dtype, buf.dtype, "same_kind"):
                raise ValueError(f"key {key!r}: got per-step shape {value.shape[1:]} dtype {value.dtype}, "
                                 f"expected {buf.shape[1:]} {buf.dtype}")

    def _reserve(self, steps: int, episodes: int) -> None:
        """Grow the buffers geometrically (x1.5) so a run of appends costs amortized O(1) per step."""
        for key, buf in self._buf.items():
            if len(buf) < steps:
                new = np.empty((max(steps, math.ceil(len(buf) * 1.5), 16), *buf.shape[1:]), dtype=buf.dtype)
                new[:self.n_steps] = buf[:self.n_steps]
                self._buf[key] = new
        if len(self._ends) < episodes:
            new_ends = np.zeros(max(episodes, math.ceil(len(self._ends) * 1.5), 16), dtype=np.int64)
            new_ends[:self._n_eps] = self._ends[:self._n_eps]
            self._ends = new_ends

    # ------------------------------------------------------------------ reading
    @property
    def keys(self) -> list[str]:
        return list(self._buf)

    @property
    def episode_ends(self) -> np.ndarray:
        """(n_episodes,) int64 cumulative end step of each episode (exclusive)."""
        return self._ends[:self._n_eps]

    @property
    def episode_starts(self) -> np.ndarray:
        """(n_episodes,) int64 first step of each episode."""
        ends = self.episode_ends
        return np.concatenate([[0], ends[:-1]]).astype(np.int64) if len(ends) else ends.copy()

    @property
    def episode_lengths(self) -> np.ndarray:
        """(n_episodes,) int64 steps per episode."""
        return np.diff(self.episode_ends, prepend=0)

    @property
    def capacity(self) -> int:
        """Steps the buffers hold before the next reallocation."""
        return min((len(v) for v in self._buf.values()), default=0)

    @property
    def n_episodes(self) -> int:
        return self._n_eps

    @property
    def n_steps(self) -> int:
        return int(self._ends[self._n_eps - 1]) if self._n_eps else 0

    @property
    def data(self) -> dict[str, np.ndarray]:
        """key -> (n_steps, *shape) views of the committed rows."""
        n = self.n_steps
        return {k: v[:n] for k, v in self._buf.items()}

    def __getitem__(self, key: str) -> np.ndarray:
        """(n_steps, *shape) view of one key."""
        return self._buf[key][:self.n_steps]

    def episode_of(self, step: int | np.ndarray) -> int | np.ndarray:
        """Episode index of a global step (int or int array); raises IndexError outside [0, n_steps)."""
        s = np.asarray(step)
        if np.any((s < 0) | (s >= self.n_steps)):
            raise IndexError(f"step(s) out of range [0, {self.n_steps})")
        ep = np.searchsorted(self.episode_ends, s, side="right")
        return int(ep) if ep.ndim == 0 else ep

    def episode(self, i: int) -> dict[str, np.ndarray]:
        """Every step of episode i: key -> (T, *shape) views."""
        if not 0 <= i < self._n_eps:
            raise IndexError(f"episode {i} out of range; there are {self._n_eps}")
        a, b = int(self.episode_starts[i]), int(self.episode_ends[i])
        return {k: v[a:b] for k, v in self._buf.items()}

    def subset(self, episode_ids: Sequence[int] | np.ndarray) -> EpisodeData:
        """A new EpisodeData (copied arrays) holding the given episodes in the given order."""
        ids = np.asarray(episode_ids, dtype=np.int64).reshape(-1)
        if np.any((ids < 0) | (ids >= self._n_eps)):
            raise IndexError(f"episode ids must lie in [0, {self._n_eps})")
        starts, lengths = self.episode_starts[ids], self.episode_lengths[ids]
        # one gather of all rows: the concatenation of aranges start..start+length per episode
        rows = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        return EpisodeData({k: v[rows] for k, v in self.data.items()}, np.cumsum(lengths))

    def __repr__(self) -> str:
        shapes = {k: (v.shape[1:], v.dtype.name) for k, v in self._buf.items()}
        return f"EpisodeData({self._n_eps} episodes, {self.n_steps} steps, {shapes})"


def split_episodes(n_episodes: int, val_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic train/validation split by episode: (train_ids, val_ids), each sorted int64.

    round(val_fraction * n) episodes go to validation, clamped so that when n >= 2 and
    0 < val_fraction < 1 each side gets at least one. val_fraction = 0 keeps everything for training;
    a single episode always goes to training. Same (n, fraction, seed) -> same split.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n_val = round(val_fraction * n_episodes)
    if val_fraction > 0 and n_episodes >= 2:
        n_val = min(max(n_val, 1), n_episodes - 1)
    elif n_episodes < 2:
        n_val = 0
    perm = np.random.default_rng(seed).permutation(n_episodes)
    return np.sort(perm[n_val:]).astype(np.int64), np.sort(perm[:n_val]).astype(np.int64)


def _progress(items: list, show: bool, desc: str):
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="ep")
