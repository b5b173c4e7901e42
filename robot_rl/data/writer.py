"""EpisodeWriter: streams one episode's steps into an EpisodeStore and commits it atomically."""

from __future__ import annotations

import errno
import json
import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from robot_rl.data.chunkio import ChunkWriter
from robot_rl.data.errors import SchemaMismatchError, StoreError, StoreFullError
from robot_rl.data.layout import SOURCES

if TYPE_CHECKING:
    from robot_rl.data.store import EpisodeStore

"""Buffered bytes per key before a write: several frames per write lets zarr compress them in parallel."""
GROW_STEPS = 64
"""Arrays grow by at least this many steps at a time while recording; commit trims them."""
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class EpisodeWriter:
    """The episode in flight. Steps go to disk past the committed end while recording; `commit`
    makes the episode visible in one atomic step, `discard` drops it. Obtain from
    `EpisodeStore.begin_episode`."""

    def __init__(self, store: EpisodeStore, source: str, info: dict[str, Any]) -> None:
        if source not in SOURCES:
            raise ValueError(f"source {source!r} is not one of {SOURCES}")
        self._info_json = json.dumps(info)  # fail now, not at commit, if info is not JSON
        self._store = store
        self.source = source
        self.start_time = time.time()
        self.start = store.n_steps
        self.n_steps = 0
        self.active = True
        self._failed: StoreError | None = None
        self._arrays = {k: store.array(k) for k in store.specs}
        self._flushed = dict.fromkeys(store.specs, 0)
        self._buffers: dict[str, list[np.ndarray]] = {k: [] for k in store.specs}
        self._buffered = dict.fromkeys(store.specs, 0)
        self._chunk = {k: int(a.chunks[0]) for k, a in self._arrays.items()}
        self._fast = {k: ChunkWriter(store.path / "data" / k) for k in store.specs}

    # ------------------------------------------------------------------ appending
    def append(self, step: dict[str, Any]) -> None:
        """Add one step: a value of the key's per-step shape for every key of the store."""
        self._add({k: np.asarray(v)[None] for k, v in step.items()}, 1)

    def extend(self, steps: dict[str, Any]) -> None:
        """Add several steps: step-major arrays (n, *shape) for every key, all with the same n."""
        rows = {k: np.asarray(v) for k, v in steps.items()}
        lengths = {k: (v.shape[0] if v.ndim else -1) for k, v in rows.items()}
        if len(set(lengths.values())) > 1:
            raise SchemaMismatchError(f"extend() needs the same number of steps for every key, got {lengths}")
        self._add(rows, next(iter(lengths.values()), 0))

    def _add(self, rows: dict[str, np.ndarray], n: int) -> None:
        self._check_usable()
        rows = self._conform(rows)
        for key, value in rows.items():
            self._buffers[key].append(value)
            self._buffered[key] += n
        self.n_steps += n
        for key in rows:
            pos = self.start + self._flushed[key]
            if (pos + self._buffered[key]) // self._chunk[key] > pos // self._chunk[key]:
                self._flush(key, final=False)

    def _conform(self, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        specs = self._store.specs
        if rows.keys() != specs.keys():
            missing, extra = sorted(specs.keys() - rows.keys()), sorted(rows.keys() - specs.keys())
            raise SchemaMismatchError(f"step keys do not match the store {self._store.path}: "
                                      f"missing {missing}, unexpected {extra}")
        out = {}
        for key, value in rows.items():
            spec = specs[key]
            if value.shape[1:] != spec.shape or not np.can_cast(value.dtype, spec.dtype, "same_kind"):
                raise SchemaMismatchError(f"key {key!r}: got per-step shape {value.shape[1:]} dtype "
                                          f"{value.dtype}, expected shape {spec.shape} dtype {spec.dtype}")
            out[key] = value.astype(spec.dtype, copy=False)
        return out

    # ------------------------------------------------------------------ disk
    def _flush(self, key: str, final: bool) -> None:
        """Write buffered rows of `key`: while recording only up to the last chunk boundary (so no
        chunk is written twice), at commit everything. Whole chunks take the fast path."""
        buffered = self._buffered[key]
        a = self.start + self._flushed[key]
        c = self._chunk[key]
        b = a + buffered if final else (a + buffered) // c * c
        if b <= a:
            return
        data = np.concatenate(self._buffers[key]) if len(self._buffers[key]) > 1 else self._buffers[key][0]
        arr = self._arrays[key]
        head = min(b, -(-a // c) * c)  # first chunk boundary at or after a
        tail = max(head, b // c * c)  # last chunk boundary at or before b
        if arr.shape[0] < b:  # grow ahead: each resize rewrites zarr.json (~1.6 ms), too slow per frame
            grow = max(c, GROW_STEPS)
            self._guarded(lambda: arr.resize((-(-b // grow) * grow, *arr.shape[1:])))
        if head > a:  # partial first chunk, shared with the committed episode before: zarr merges it
            self._guarded(lambda: arr.__setitem__(slice(a, head), data[: head - a]))
        if tail > head:
            self._guarded(lambda: self._fast[key].write(head // c, data[head - a: tail - a]))
        if b > tail:
            self._guarded(lambda: arr.__setitem__(slice(tail, b), data[tail - a: b - a]))
        n = b - a
        self._buffers[key] = [data[n:]] if n < buffered else []
        self._buffered[key] -= n
        self._flushed[key] += n

    def _guarded(self, fn) -> None:
        try:
            fn()
        except OSError as e:
            if e.errno not in _DISK_FULL:
                raise
            self._failed = StoreFullError(
                f"disk full writing to {self._store.path} ({os.strerror(e.errno)}): the episode in flight "
                f"({self.n_steps} steps) cannot be saved; the {self._store.n_episodes} committed episodes "
                f"are intact. Free space, then discard() or reopen the store.")
            raise self._failed from e

    def _check_usable(self) -> None:
        if not self.active:
            raise RuntimeError("this episode was already committed or discarded")
        if self._failed is not None:
            raise self._failed

    # ------------------------------------------------------------------ ending
    def commit(self, success: bool | None = None, **info: Any) -> int:
        """Write the rest of the episode and make it visible; returns its index.

        `success`: True / False / None (unknown). `info` is merged into the episode's JSON metadata.
        """
        self._check_usable()
        if self.n_steps == 0:
            raise ValueError("cannot commit an episode with no steps; discard() it instead")
        merged = json.dumps(json.loads(self._info_json) | info)
        end = self.start + self.n_steps
        for key, arr in self._arrays.items():
            self._flush(key, final=True)
            if arr.shape[0] > end:  # give back what was grown ahead
                self._guarded(lambda a=arr: a.resize((end, *a.shape[1:])))
        store = self._store
        idx = store.n_episodes
        values = {"episode_start_time": self.start_time,
                  "episode_success": -1 if success is None else int(success),
                  "episode_source": self.source, "episode_info": merged}
        for name, value in values.items():
            arr = store._group[f"meta/{name}"]
            self._guarded(lambda a=arr: a.resize((idx + 1,)))
            self._guarded(lambda a=arr, v=value: a.__setitem__(idx, v))
        ends = store._group["meta/episode_ends"]
        self._guarded(lambda: ends.resize((idx + 1,)))  # the new entry reads -1 (in flight) until ...
        self._guarded(lambda: ends.__setitem__(idx, end))  # ... this write, the commit point
        store.episode_ends = np.append(store.episode_ends, np.int64(end))
        self.active = False
        return idx

    def discard(self) -> None:
        """Drop the episode in flight. If the disk is full the rows stay on disk past the committed
        end, where the next writer open truncates them."""
        self.active = False
        self._buffers = {k: [] for k in self._buffers}
        for arr in self._arrays.values():
            if arr.shape[0] > self.start:
                try:
                    arr.resize((self.start, *arr.shape[1:]))
                except OSError:
                    pass  # recovery on the next open truncates the tail
