"""The store's on-disk layout: creating it, per-episode metadata, and recovery after a killed writer."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.codecs import BloscCodec, ZstdCodec

from robot_rl.data.errors import CorruptStoreError
from robot_rl.data.spec import KeySpec

ATTR = "robot_rl_store"
SCHEMA_VERSION = 1
SOURCES = ("demo", "online", "intervention", "reset", "eval")
META_KEYS = ("episode_start_time", "episode_success", "episode_source", "episode_info")
_META_DTYPES = {"episode_start_time": "float64", "episode_success": "int8", "episode_source": str,
                "episode_info": str}
_META_CHUNK = 4096


@dataclasses.dataclass(frozen=True)
class EpisodeMeta:
    """Per-episode metadata kept in `meta/`."""

    index: int
    """Episode index in the store."""
    length: int
    """Number of steps."""
    start_time: float
    """Wall-clock time the episode began (UNIX seconds)."""
    success: int
    """1 success, 0 failure, -1 unknown."""
    source: str
    """One of SOURCES: demo, online, intervention, reset, eval."""
    info: dict[str, Any]
    """Free JSON: task, rig, operator, notes, ..."""

    @classmethod
    def from_arrays(cls, index: int, length: int, episode_start_time: Any, episode_success: Any,
                    episode_source: Any, episode_info: Any) -> EpisodeMeta:
        return cls(index=index, length=length, start_time=float(episode_start_time),
                   success=int(episode_success), source=str(episode_source),
                   info=json.loads(str(episode_info)))


def compressors_for(spec: KeySpec) -> list:
    codec = spec.resolved_codec()
    if codec == "lz4":
        itemsize = np.dtype(spec.dtype).itemsize
        return [BloscCodec(cname="lz4", clevel=5, shuffle="bitshuffle", typesize=itemsize)]
    if codec == "zstd":
        return [ZstdCodec(level=3)]
    return []


def create_layout(path: Path, specs: dict[str, KeySpec], attrs: dict[str, Any]) -> None:
    """Write an empty store: root attrs, one zero-length array per key, empty metadata arrays."""
    if not specs:
        raise ValueError("a store needs at least one key spec")
    json.dumps(attrs)  # fail before writing anything if attrs are not JSON
    root = zarr.open_group(path, mode="a")  # not "w": that would delete the writer lock file
    for key, spec in specs.items():
        root.create_array(f"data/{key}", shape=(0, *spec.shape), dtype=spec.dtype,
                          chunks=(spec.resolved_chunk_steps(), *spec.shape),
                          compressors=compressors_for(spec), fill_value=0,
                          chunk_key_encoding={"name": "default", "separator": "."})
    root.create_array("meta/episode_ends", shape=(0,), dtype="int64", chunks=(_META_CHUNK,), fill_value=-1)
    for name, dtype in _META_DTYPES.items():
        root.create_array(f"meta/{name}", shape=(0,), dtype=dtype, chunks=(_META_CHUNK,))
    # attrs last: a directory without them is not a store, so a crash above leaves nothing half-valid
    root.attrs[ATTR] = {"schema_version": SCHEMA_VERSION,
                        "keys": {k: s.to_json() for k, s in specs.items()}, "attrs": attrs}


def recover(root: zarr.Group) -> dict[str, Any]:
    """Truncate everything past the committed state; returns what was dropped.

    Raises CorruptStoreError for states the commit protocol cannot produce (e.g. data shorter than
    the committed end), which mean the files were damaged by something other than a killed writer.
    """
    ends_arr = root["meta/episode_ends"]
    ends = np.asarray(ends_arr[:], dtype=np.int64)
    n = len(ends)
    while n and ends[n - 1] < 0:
        n -= 1
    check_ends(ends[:n])
    end = int(ends[n - 1]) if n else 0
    report: dict[str, Any] = {"dropped_episode_entries": int(len(ends) - n), "dropped_meta_entries": {},
                              "dropped_steps": {}, "removed_partial_files": 0}
    if len(ends) > n:
        ends_arr.resize((n,))
    for name in META_KEYS:
        arr = root[f"meta/{name}"]
        if arr.shape[0] < n:
            raise CorruptStoreError(f"meta/{name} has {arr.shape[0]} entries but {n} episodes are committed")
        if arr.shape[0] > n:
            report["dropped_meta_entries"][name] = int(arr.shape[0] - n)
            arr.resize((n,))
    for key, arr in _data_arrays(root):
        if arr.shape[0] < end:
            raise CorruptStoreError(f"data/{key} has {arr.shape[0]} steps but {end} are committed")
        if arr.shape[0] > end:
            report["dropped_steps"][key] = int(arr.shape[0] - end)
            arr.resize((end, *arr.shape[1:]))
    store_path = Path(str(root.store.root))
    for tmp in store_path.rglob("*.partial"):  # temp files of writes that were killed before rename
        tmp.unlink(missing_ok=True)
        report["removed_partial_files"] += 1
    return report


def check_ends(ends: np.ndarray) -> None:
    if len(ends) and (ends[0] <= 0 or np.any(np.diff(ends) <= 0)):
        bad = int(np.argmax(np.diff(np.concatenate([[0], ends])) <= 0))
        raise CorruptStoreError(f"meta/episode_ends must be strictly increasing and positive; entry {bad} is "
                                f"{int(ends[bad])} after {int(ends[bad - 1]) if bad else 0}")


def _data_arrays(root: zarr.Group):
    for key in root.attrs[ATTR]["keys"]:
        yield key, root[f"data/{key}"]

