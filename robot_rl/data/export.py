"""Export an EpisodeStore to diffusion_policy's ReplayBuffer layout (zarr format 2).

diffusion_policy (zarr 2.x) reads `<root>/data/<name>` arrays, episodes concatenated along axis 0,
and `<root>/meta/episode_ends` (int64, cumulative). Its configs name keys flat (`agent_pos`,
`camera_0`), so nested store keys map to their last path component when that is unique among the
exported keys, else to all components joined with "_" (`image/front` → `front`, or `image_front`
when `depth/front` is exported too).

Layout of the export: Blosc compression (LZ4 + bit shuffle for frames, Zstd + byte shuffle for
low-dim); frames (per-step arrays of 2+ dimensions: images, depth) one per chunk, as diffusion_policy's
own converters write them; low-dim arrays one chunk for the whole array (≤ 1 GiB per chunk), which
is what ReplayBuffer loads into memory anyway. Only committed steps are copied, episode by episode
in blocks of ≤ 64 MiB, so a store larger than RAM exports fine (low-dim arrays are held in memory
until written, as their single chunk must be). The export is built under a temporary name and
renamed into place at the end, so an interrupted export never looks complete.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numcodecs
import numpy as np
import zarr
from tqdm import tqdm

from robot_rl.data.spec import KeySpec
from robot_rl.data.store import EpisodeStore

BLOCK_BYTES = 64 << 20
"""Largest slab copied at once (bytes)."""
MAX_LOWDIM_CHUNK_BYTES = 1 << 30
"""Cap on a low-dim array's single chunk; Blosc cannot compress buffers of 2 GiB or more."""
FRAME_COMPRESSOR = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.BITSHUFFLE)
LOWDIM_COMPRESSOR = numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.SHUFFLE)


def flat_names(keys: list[str]) -> dict[str, str]:
    """Store key → flat diffusion_policy name (last path component if unique, else joined with "_")."""
    last = [k.split("/")[-1] for k in keys]
    names = {k: (s if last.count(s) == 1 else k.replace("/", "_")) for k, s in zip(keys, last, strict=True)}
    clashes = sorted({n for n in names.values() if list(names.values()).count(n) > 1})
    if clashes:
        clashing = [k for k in keys if names[k] in clashes]
        raise ValueError(f"keys {clashing} all map to the flat name(s) {clashes}; export fewer with --keys")
    return names


def is_framewise(spec: KeySpec) -> bool:
    """Frames (2+ dims per step: images, depth) are chunked one per chunk; the rest is low-dim."""
    return len(spec.shape) >= 2


def export_diffusion_policy(store_path: str | Path, out: str | Path, keys: list[str] | None = None,
                            progress: bool = False) -> dict[str, str]:
    """Write the committed episodes of `store_path` to a new zarr v2 group at `out`; returns the
    key → name mapping. Raises FileExistsError if `out` exists, ValueError for unknown keys."""
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} already exists; export never overwrites, choose another --out")
    store = EpisodeStore.open(store_path, "r")
    keys = list(keys or store.keys)
    unknown = [k for k in keys if k not in store.specs]
    if unknown:
        raise ValueError(f"keys {unknown} are not in {store.path}; its keys are {store.keys}")
    names = flat_names(keys)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        _write(store, tmp, names, progress)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return names


def _write(store: EpisodeStore, path: Path, names: dict[str, str], progress: bool) -> None:
    total = store.n_steps
    root = zarr.open_group(path, mode="w-", zarr_format=2)
    keys = {names[k]: {"key": k, **store.specs[k].to_json()} for k in names}
    root.attrs["robot_rl_export"] = {"source": str(store.path.resolve()), "n_episodes": store.n_episodes,
                                     "keys": keys}
    dst, lowdim = {}, {}
    for key, name in names.items():
        spec = store.specs[key]
        if is_framewise(spec):
            chunk = 1
        else:
            chunk = max(1, min(total, MAX_LOWDIM_CHUNK_BYTES // spec.step_bytes))
            lowdim[key] = []
        dst[key] = root.create_array(f"data/{name}", shape=(total, *spec.shape), dtype=spec.dtype,
                                     chunks=(chunk, *spec.shape), fill_value=0,
                                     compressors=LOWDIM_COMPRESSOR if key in lowdim else FRAME_COMPRESSOR)
    for i in tqdm(range(store.n_episodes), unit="episode", desc="exporting", disable=not progress):
        sl = store.episode_slice(i)
        for key in names:
            src = store.array(key)
            if key in lowdim:
                lowdim[key].append(src[sl])
                continue
            block = max(1, BLOCK_BYTES // store.specs[key].step_bytes)
            for a in range(sl.start, sl.stop, block):
                b = min(a + block, sl.stop)
                dst[key][a:b] = src[a:b]
    for key, parts in lowdim.items():
        if parts:
            dst[key][:] = np.concatenate(parts)
    ends = store.episode_ends.astype(np.int64)
    out_ends = root.create_array("meta/episode_ends", shape=ends.shape, dtype="int64",
                                 chunks=(max(1, len(ends)),), fill_value=0, compressors=LOWDIM_COMPRESSOR)
    if len(ends):
        out_ends[:] = ends
