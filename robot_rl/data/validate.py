"""Consistency checks for an EpisodeStore (`robot-rl data validate`) and the store summary behind
`robot-rl data info`. Everything here reads; nothing writes.

`validate_store` returns a list of `Problem`s instead of printing, so tests and other code (e.g. a
recorder checking its output) can call it. Severities: "error" (the store contradicts its schema or
the commit protocol; validate exits non-zero), "warning" (suspicious but usable, e.g. NaN in a float
key), "note" (information, e.g. the episode a live writer has in flight).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from tqdm import tqdm

from robot_rl.data.errors import CorruptStoreError, NotAStoreError, SchemaVersionError
from robot_rl.data.layout import META_KEYS, SOURCES, check_ends
from robot_rl.data.spec import KeySpec
from robot_rl.data.store import EpisodeStore, writer_active


@dataclasses.dataclass(frozen=True)
class Problem:
    """One finding of `validate_store`."""

    severity: str
    """"error", "warning" or "note"."""
    message: str
    """What was found and what was expected, naming the array (and steps or episodes) concerned."""


@dataclasses.dataclass(frozen=True)
class Tail:
    """What lies past the committed state: the episode in flight, or what a killed writer left."""

    ends_entries: int
    """Trailing -1 entries in meta/episode_ends (a commit in progress)."""
    meta_entries: dict[str, int]
    """meta/<name> → entries past the committed episode count."""
    steps: dict[str, int]
    """data key → steps past the committed end."""

    def __bool__(self) -> bool:
        return bool(self.ends_entries or self.meta_entries or self.steps)

    def describe(self) -> str:
        parts = [f"{self.ends_entries} in-flight meta/episode_ends entry"] if self.ends_entries else []
        parts += [f"meta/{k} +{n} entries" for k, n in self.meta_entries.items()]
        parts += [f"data/{k} +{n} steps" for k, n in self.steps.items()]
        return ", ".join(parts) or "none"


def committed_count(ends: np.ndarray) -> int:
    """Episodes committed: episode_ends without its trailing -1 entries (a commit in progress)."""
    n = len(ends)
    while n and ends[n - 1] < 0:
        n -= 1
    return n


def inspect_tail(group: zarr.Group, keys: list[str], ends: np.ndarray) -> Tail:
    """The uncommitted tail of a store, given its raw meta/episode_ends (read before the other arrays,
    so that a concurrent commit can only make the tail look longer, never the committed part)."""
    n = committed_count(ends)
    end = int(ends[n - 1]) if n else 0
    meta = {m: group[f"meta/{m}"].shape[0] - n for m in META_KEYS if f"meta/{m}" in group}
    steps = {k: group[f"data/{k}"].shape[0] - end for k in keys if f"data/{k}" in group}
    return Tail(len(ends) - n, {k: v for k, v in meta.items() if v > 0},
                {k: v for k, v in steps.items() if v > 0})


def read_tail(path: str | Path) -> Tail:
    """The uncommitted tail of the store at `path`. Raises StoreError subclasses."""
    store = EpisodeStore.open(path, "r")
    group = zarr.open_group(store.path, mode="r")
    return inspect_tail(group, store.keys, np.asarray(group["meta/episode_ends"][:], dtype=np.int64))


def summarize(path: str | Path) -> dict[str, Any]:
    """Everything `robot-rl data info` shows, as JSON-ready data. Raises StoreError subclasses."""
    tail = read_tail(path)  # first: episodes committed meanwhile show up in the tail, never vice versa
    store = EpisodeStore.open(path, "r")
    keys = {k: {**s.to_json(), "bytes_on_disk": _dir_bytes(store.path / "data" / k)}
            for k, s in store.specs.items()}
    success = {1: "yes", 0: "no", -1: "unknown"}
    episodes = [{"index": m.index, "length": m.length, "success": success.get(m.success, str(m.success)),
                 "source": m.source, "start_time": m.start_time, "start_time_iso": iso_time(m.start_time),
                 "task": str(m.info.get("task", "")), "info": m.info} for m in store.all_meta()]
    return {"path": str(store.path), "n_episodes": store.n_episodes, "n_steps": store.n_steps,
            "bytes_on_disk": store.size_on_disk(), "writer_active": writer_active(store.path),
            "uncommitted": dataclasses.asdict(tail) | {"summary": tail.describe()},
            "keys": keys, "attrs": store.attrs, "episodes": episodes}


def validate_store(path: str | Path, deep: bool = False, progress: bool = False) -> list[Problem]:
    """Check a store against its schema and the commit protocol (see robot_rl/data/store.py).

    Raises NotAStoreError / SchemaVersionError when `path` is not a store this code reads; every
    other inconsistency is returned as a Problem. `deep` also decodes every chunk of every array
    (with a tqdm bar on stderr when `progress`) and warns about non-finite values in float keys.
    """
    try:
        store = EpisodeStore.open(path, "r")
    except (NotAStoreError, SchemaVersionError):
        raise
    except Exception as e:  # CorruptStoreError, an undecodable episode_ends chunk, a bad key spec, ...
        return [Problem("error", f"cannot open {path}: {_exc(e)}")]
    group = zarr.open_group(store.path, mode="r")
    try:
        ends = np.asarray(group["meta/episode_ends"][:])
    except Exception as e:
        return [Problem("error", f"meta/episode_ends cannot be read: {_exc(e)}")]
    problems = _check_data(group, store.specs) + _check_ends(ends, group, store.keys)
    n = committed_count(ends)
    problems += _check_meta(group, n)
    problems += _check_tail(store.path, inspect_tail(group, store.keys, ends))
    if deep:
        problems += deep_check(group, store.specs, progress)
    return problems


def _check_data(group: zarr.Group, specs: dict[str, KeySpec]) -> list[Problem]:
    out = []
    arrays = {name: node for name, node in group["data"].members(max_depth=None)
              if isinstance(node, zarr.Array)}
    for key, spec in specs.items():
        arr = arrays.get(key)
        if arr is None:
            out.append(Problem("error", f"data/{key} is missing; the schema declares it {_spec_str(spec)}"))
        elif tuple(arr.shape[1:]) != spec.shape or arr.dtype != np.dtype(spec.dtype):
            out.append(Problem("error", f"data/{key} has per-step shape {tuple(arr.shape[1:])} dtype "
                                        f"{arr.dtype}; the schema declares {_spec_str(spec)}"))
    out += [Problem("error", f"data/{name} is not in the schema (keys: {sorted(specs)})")
            for name in sorted(arrays.keys() - specs.keys())]
    return out


def _check_ends(ends: np.ndarray, group: zarr.Group, keys: list[str]) -> list[Problem]:
    if ends.dtype != np.int64:
        return [Problem("error", f"meta/episode_ends has dtype {ends.dtype}; expected int64")]
    n = committed_count(ends)
    try:
        check_ends(ends[:n])
    except CorruptStoreError as e:
        return [Problem("error", str(e))]
    end = int(ends[n - 1]) if n else 0
    return [Problem("error", f"data/{k} has {group[f'data/{k}'].shape[0]} steps but meta/episode_ends "
                             f"commits {end} ({n} episodes)")
            for k in keys if f"data/{k}" in group and group[f"data/{k}"].shape[0] < end]


def _check_meta(group: zarr.Group, n: int) -> list[Problem]:
    out = []
    for name in META_KEYS:
        if group[f"meta/{name}"].shape[0] < n:
            out.append(Problem("error", f"meta/{name} has {group[f'meta/{name}'].shape[0]} entries but "
                                        f"meta/episode_ends commits {n} episodes"))
    if out:
        return out
    success = np.asarray(group["meta/episode_success"][:n])
    bad = np.flatnonzero(~np.isin(success, (-1, 0, 1)))
    if len(bad):
        out.append(Problem("error", f"meta/episode_success must be -1, 0 or 1; episodes {_few(bad)} hold "
                                    f"{_few(success[bad])}"))
    sources = [str(s) for s in group["meta/episode_source"][:n]]
    bad = [i for i, s in enumerate(sources) if s not in SOURCES]
    if bad:
        out.append(Problem("error", f"meta/episode_source must be one of {SOURCES}; episodes {_few(bad)} "
                                    f"hold {_few([sources[i] for i in bad])}"))
    for i, text in enumerate(group["meta/episode_info"][:n]):
        try:
            ok = isinstance(json.loads(str(text)), dict)
        except ValueError:
            ok = False
        if not ok:
            out.append(Problem("error", f"meta/episode_info[{i}] is not a JSON object: {str(text)[:80]!r}"))
    return out


def _check_tail(path: Path, tail: Tail) -> list[Problem]:
    live = writer_active(path)
    partial = [] if live else list(path.rglob("*.partial"))
    out = [Problem("warning", f"{len(partial)} leftover *.partial temp files (e.g. {partial[0]}); "
                              f"`robot-rl data repair --store {path}` removes them")] if partial else []
    if not tail:
        return out
    if live:
        return out + [Problem("note", f"a writer holds the lock; its episode in flight: {tail.describe()}")]
    return out + [Problem("error", f"uncommitted tail ({tail.describe()}) and no writer holds the lock: a "
                                   f"writer was interrupted; run `robot-rl data repair --store {path}`")]


def deep_check(group: zarr.Group, specs: dict[str, KeySpec], progress: bool = False) -> list[Problem]:
    """Decode every chunk of every array under data/ and meta/ (one chunk per read, so a damaged chunk
    is pinpointed); errors for undecodable chunks, warnings for non-finite values in float keys."""
    arrays = [(f"{top}/{name}", node) for top in ("data", "meta")
              for name, node in group[top].members(max_depth=None) if isinstance(node, zarr.Array)]
    total = sum(math.ceil(a.shape[0] / a.chunks[0]) for _, a in arrays if a.ndim)
    problems = []
    with tqdm(total=total, unit="chunk", desc="reading chunks", disable=not progress) as bar:
        for name, arr in arrays:
            problems += _read_chunks(name, arr, bar)
    return problems


def _read_chunks(name: str, arr: zarr.Array, bar: tqdm) -> list[Problem]:
    problems, bad_steps, n_bad = [], [], 0
    check_finite = arr.dtype.kind == "f"
    c = arr.chunks[0] if arr.ndim else 1
    for a in range(0, arr.shape[0] if arr.ndim else 0, c):
        b = min(a + c, arr.shape[0])
        try:
            block = arr[a:b]
        except Exception as e:
            problems.append(Problem("error", f"{name}: chunk {a // c} (steps {a}..{b - 1}) cannot be "
                                             f"decoded: {_exc(e)}"))
            block = None
        if check_finite and block is not None:
            rows = np.flatnonzero(~np.isfinite(block.reshape(b - a, -1)).all(axis=1))
            n_bad += int((~np.isfinite(block)).sum())
            bad_steps += [a + int(rows[0]), a + int(rows[-1])] if len(rows) else []
        bar.update(1)
    if n_bad:
        problems.append(Problem("warning", f"{name}: {n_bad} non-finite values in steps "
                                           f"{min(bad_steps)}..{max(bad_steps)}"))
    return problems


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


def iso_time(t: float) -> str:
    """UNIX seconds → ISO 8601 in UTC, e.g. 2025-11-21T09:57:03Z."""
    import datetime

    if not math.isfinite(t):
        return "?"
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def _spec_str(spec: KeySpec) -> str:
    return f"per-step shape {spec.shape} dtype {spec.dtype}"


def _few(values: Any, k: int = 5) -> str:
    values = [v.item() if hasattr(v, "item") else v for v in values]
    return ", ".join(map(str, values[:k])) + (f", ... ({len(values)} in all)" if len(values) > k else "")


def _exc(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"
