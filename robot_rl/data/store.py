"""EpisodeStore: episodes of robot data in a zarr (format 3) directory store.

On disk (compatible with the diffusion_policy ReplayBuffer layout)::

    <root>/zarr.json           attrs["robot_rl_store"] = {schema_version, keys: {key: KeySpec}, attrs}
    <root>/data/<key>          (total_steps, *shape) arrays, episodes concatenated along axis 0
    <root>/meta/episode_ends   int64 cumulative end index per episode (the commit record)
    <root>/meta/episode_*      per-episode metadata: start_time, success, source, info (JSON)
    <root>/.writer.lock        flock held by the single writer

Commit protocol (a writer killed at any instant loses at most the episode in flight):
1. steps stream into `data/<key>` past the committed end (rows >= episode_ends[-1]; arrays grow
   ahead while recording and are trimmed to the episode's end at commit);
2. on commit the per-episode `meta/episode_*` entries are written at index n_episodes;
3. `meta/episode_ends` grows by one entry holding -1, then the entry is set to the new end.
zarr's LocalStore writes every chunk and metadata file to a temporary name and renames it into
place, so each file is either old or new; a chunk shared between a committed episode and the one
in flight is rewritten whole, never torn. Opening the store for writing truncates every array to the
committed state (and drops a trailing -1), which is what `robot-rl data repair` reports.

Chunks and codecs (robot_rl/data/spec.py) were chosen with `robot-rl bench store --compare-codecs`
on the 2-core machine: 2 cameras 480x640x3 at 30 Hz + arm state, camera-like synthetic frames
(sensor noise of 2 grey levels), 15 s per codec, measured side by side in one run:

    image codec             realtime factor   append p99   bytes/frame (raw 921,600)
    Blosc LZ4 + bitshuffle        7.1-7.4         7.8 ms     735,276 (1.25x)   <- default
    Zstd level 3                  7.6             9.3 ms     830,943 (1.11x)
    none                         11.2             6.1 ms     921,601

LZ4 + bitshuffle costs little speed for a fifth less disk. Images use one frame per chunk (the unit
samplers read, and no frame is ever rewritten); low-dim keys use ~1 MiB chunks. Sharding was not
used: zarr rewrites a whole shard on each partial write, which makes streaming appends quadratic,
and a frame per file already keeps recording far above real time. Two measured costs shaped the
writer: zarr's `array[i] = frame` took 7.9 ms per 921 KB frame against 1.9 ms for writing the file
(see chunkio.py), and each `resize` rewrites zarr.json (1.6 ms), so arrays grow 64 rows at a time.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from robot_rl.data.errors import (
    CorruptStoreError,
    NotAStoreError,
    SchemaVersionError,
    StoreLockedError,
)
from robot_rl.data.layout import ATTR, META_KEYS, SCHEMA_VERSION, EpisodeMeta, create_layout, recover
from robot_rl.data.spec import KeySpec
from robot_rl.data.writer import EpisodeWriter


class EpisodeStore:
    """A zarr store of episodes. Open with `create` (new) or `open` (existing, mode "r" or "a")."""

    def __init__(self, path: Path, group: zarr.Group, mode: str, lock_fd: int | None) -> None:
        self.path = path
        self.mode = mode
        self._group = group
        self._lock_fd = lock_fd
        info = group.attrs[ATTR]
        self.specs: dict[str, KeySpec] = {k: KeySpec.from_json(v) for k, v in info["keys"].items()}
        self.attrs: dict[str, Any] = dict(info.get("attrs", {}))
        self.recovery: dict[str, Any] = {}
        self._writer: EpisodeWriter | None = None
        self.refresh()

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(cls, path: str | Path, specs: dict[str, KeySpec], attrs: dict[str, Any] | None = None,
               exist_ok: bool = False) -> EpisodeStore:
        """Create a new empty store at `path` and open it for writing.

        `attrs` is free JSON (rig, task config, ...) kept in the store. With `exist_ok`, an existing
        store with the same key specs is opened for writing instead; different specs raise.
        """
        path = Path(path)
        if path.exists() and any(path.iterdir()):
            if not exist_ok:
                raise FileExistsError(f"{path} already exists; open it with EpisodeStore.open(..., mode='a')")
            store = cls.open(path, mode="a")
            store.check_specs(specs)
            return store
        path.mkdir(parents=True, exist_ok=True)
        lock_fd = _acquire_lock(path)
        create_layout(path, specs, attrs or {})
        return cls(path, zarr.open_group(path, mode="r+"), "a", lock_fd)

    @classmethod
    def open(cls, path: str | Path, mode: str = "r") -> EpisodeStore:
        """Open an existing store. "r" reads committed episodes only and never writes; "a" takes the
        writer lock and truncates whatever an interrupted writer left past the committed end."""
        if mode not in ("r", "a"):
            raise ValueError(f"mode must be 'r' or 'a', got {mode!r}")
        path = Path(path)
        group = _open_group(path, "r" if mode == "r" else "r+")
        lock_fd = _acquire_lock(path) if mode == "a" else None
        try:
            recovery = recover(group) if mode == "a" else {}
            store = cls(path, group, mode, lock_fd)
        except BaseException:
            _release_lock(lock_fd)
            raise
        store.recovery = recovery
        return store

    def close(self) -> None:
        """Discard an episode still in flight and release the writer lock."""
        if self._writer is not None and self._writer.active:
            self._writer.discard()
        _release_lock(self._lock_fd)
        self._lock_fd = None

    def __enter__(self) -> EpisodeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        _release_lock(getattr(self, "_lock_fd", None))

    def refresh(self) -> None:
        """Re-read the commit record (readers call this to see episodes committed since opening)."""
        self._group = zarr.open_group(self.path, mode="r" if self.mode == "r" else "r+")
        ends = np.asarray(self._group["meta/episode_ends"][:], dtype=np.int64)
        self.episode_ends = ends[: _n_committed(ends)]

    def check_specs(self, specs: dict[str, KeySpec]) -> None:
        """Raise SchemaMismatchError unless `specs` equals the store's key specs (ignoring layout)."""
        from robot_rl.data.errors import SchemaMismatchError

        def core(s: KeySpec) -> tuple:
            return (s.shape, s.dtype)

        mine = {k: core(v) for k, v in self.specs.items()}
        theirs = {k: core(v) for k, v in specs.items()}
        if mine != theirs:
            raise SchemaMismatchError(f"store {self.path} has keys {mine}, but the caller expects {theirs}")

    # ------------------------------------------------------------------ reading
    @property
    def n_episodes(self) -> int:
        return int(len(self.episode_ends))

    @property
    def n_steps(self) -> int:
        return int(self.episode_ends[-1]) if len(self.episode_ends) else 0

    @property
    def keys(self) -> list[str]:
        return list(self.specs)

    def array(self, key: str) -> zarr.Array:
        """The lazy zarr array for `key`; rows past `n_steps` are not committed."""
        if key not in self.specs:
            raise KeyError(f"{key!r} is not a key of {self.path}; keys: {self.keys}")
        return self._group[f"data/{key}"]

    def episode_slice(self, i: int) -> slice:
        if not -self.n_episodes <= i < self.n_episodes:
            raise IndexError(f"episode {i} out of range; the store has {self.n_episodes} episodes")
        i %= self.n_episodes
        start = int(self.episode_ends[i - 1]) if i > 0 else 0
        return slice(start, int(self.episode_ends[i]))

    def read_episode(self, i: int, keys: list[str] | None = None) -> dict[str, np.ndarray]:
        """Every step of episode `i` as step-major numpy arrays."""
        sl = self.episode_slice(i)
        return {k: self.array(k)[sl] for k in keys or self.keys}

    def episode_meta(self, i: int) -> EpisodeMeta:
        sl = self.episode_slice(i)
        i %= self.n_episodes
        meta = {name: self._group[f"meta/{name}"][i] for name in META_KEYS}
        return EpisodeMeta.from_arrays(index=i, length=sl.stop - sl.start, **meta)

    def all_meta(self) -> list[EpisodeMeta]:
        n = self.n_episodes
        cols = {name: self._group[f"meta/{name}"][:n] for name in META_KEYS}
        lengths = np.diff(self.episode_ends, prepend=0)
        return [EpisodeMeta.from_arrays(index=i, length=int(lengths[i]), **{k: v[i] for k, v in cols.items()})
                for i in range(n)]

    def size_on_disk(self) -> int:
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())

    # ------------------------------------------------------------------ writing
    def begin_episode(self, source: str = "demo", **info: Any) -> EpisodeWriter:
        """Start streaming a new episode. `info` is JSON metadata (task, rig, operator, notes, ...)."""
        if self.mode != "a":
            raise PermissionError(f"{self.path} is open read-only; open it with mode='a' to write")
        if self._writer is not None and self._writer.active:
            raise RuntimeError("an episode is already in flight; commit() or discard() it first")
        self._writer = EpisodeWriter(self, source, info)
        return self._writer


def _n_committed(ends: np.ndarray) -> int:
    """Length of the valid prefix of episode_ends: strictly increasing, positive (a -1 tail is in flight)."""
    n = len(ends)
    while n and ends[n - 1] < 0:
        n -= 1
    return n


def _open_group(path: Path, mode: str) -> zarr.Group:
    if not path.exists():
        raise NotAStoreError(f"{path} does not exist; expected an EpisodeStore directory")
    if not (path / "zarr.json").is_file():
        found = "a zarr v2 group (.zgroup)" if (path / ".zgroup").exists() else "no zarr.json"
        raise NotAStoreError(f"{path} is not an EpisodeStore: found {found}, expected a zarr v3 group "
                             f"with attrs[{ATTR!r}]")
    try:
        group = zarr.open_group(path, mode=mode)
    except Exception as e:  # zarr raises several types for unreadable metadata
        raise NotAStoreError(f"{path} is not a readable zarr group ({type(e).__name__}: {e})") from e
    info = group.attrs.get(ATTR)
    if not isinstance(info, dict):
        raise NotAStoreError(f"{path} is a zarr group but not an EpisodeStore: attrs has no {ATTR!r} entry "
                             f"(found attrs keys {sorted(group.attrs)})")
    version = info.get("schema_version")
    if version != SCHEMA_VERSION:
        raise SchemaVersionError(f"{path} has EpisodeStore schema version {version!r}; this robot_rl reads "
                                 f"version {SCHEMA_VERSION}")
    for name in ("data", "meta/episode_ends", *(f"meta/{m}" for m in META_KEYS)):
        if name not in group:
            raise CorruptStoreError(f"{path} is missing {name!r}, which schema version "
                                    f"{SCHEMA_VERSION} requires")
    return group


def _acquire_lock(path: Path) -> int:
    fd = os.open(path / ".writer.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLockedError(f"{path} is open for writing by another writer "
                               "(the lock is held by this or another process)") from None
    return fd


def _release_lock(fd: int | None) -> None:
    if fd is not None:
        try:
            os.close(fd)  # closing the descriptor drops the flock
        except OSError:
            pass


def writer_active(path: str | Path) -> bool:
    """True while some process holds the store's writer lock."""
    lock = Path(path) / ".writer.lock"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
