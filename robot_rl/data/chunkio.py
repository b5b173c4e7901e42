"""Fast path for writing whole new chunks of a zarr v3 array without zarr's per-call overhead.

Measured on the 2-core machine (480x640x3 uint8, one frame per chunk, no compression): zarr's
`array[i] = frame` takes 7.9 ms per frame, writing the same bytes to a file and renaming it 1.9 ms.
Recording two cameras streams ~60 such frames per second, so the writer encodes whole chunks itself
(with the codecs named in the array's zarr.json, through numcodecs exactly as zarr does) and writes
them with the same write-to-temporary-then-rename discipline as zarr's LocalStore. The result is an
ordinary zarr v3 chunk; every read goes through zarr.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import numcodecs
import numpy as np


class ChunkWriter:
    """Encodes and writes whole chunks (along axis 0) of one zarr v3 array directory."""

    def __init__(self, array_dir: Path) -> None:
        meta = json.loads((array_dir / "zarr.json").read_text())
        self.dir = array_dir
        self.chunk_steps = int(meta["chunk_grid"]["configuration"]["chunk_shape"][0])
        self.ndim = len(meta["shape"])
        enc = meta["chunk_key_encoding"]
        self._sep = enc.get("configuration", {}).get("separator", "/")
        self._dtype = np.dtype(meta["data_type"]).newbyteorder("<")
        codecs = meta["codecs"]
        if codecs[0]["name"] != "bytes" or len(codecs) > 2:
            raise ValueError(f"{array_dir}: unsupported codec chain {codecs}")
        self._compressor = _numcodec(codecs[1]) if len(codecs) == 2 else None

    def chunk_path(self, index: int) -> Path:
        return self.dir / self._sep.join(["c", str(index), *["0"] * (self.ndim - 1)])

    def write(self, first_chunk: int, rows: np.ndarray) -> None:
        """Write rows (k * chunk_steps, *shape) as chunks first_chunk .. first_chunk + k - 1."""
        c = self.chunk_steps
        if len(rows) % c:
            raise ValueError(f"{len(rows)} rows is not a whole number of {c}-step chunks")
        rows = np.ascontiguousarray(rows, dtype=self._dtype)
        for j in range(len(rows) // c):
            block = rows[j * c:(j + 1) * c]
            data = self._compressor.encode(block) if self._compressor else block.tobytes()
            _atomic_write(self.chunk_path(first_chunk + j), data)


def _numcodec(codec: dict) -> numcodecs.abc.Codec:
    name, cfg = codec["name"], codec.get("configuration", {})
    if name == "blosc":
        shuffle = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}[cfg["shuffle"]]
        return numcodecs.Blosc(cname=cfg["cname"], clevel=cfg["clevel"], shuffle=shuffle,
                               blocksize=cfg.get("blocksize", 0))
    if name == "zstd":
        return numcodecs.Zstd(level=cfg["level"], checksum=cfg.get("checksum", False))
    raise ValueError(f"unsupported codec {name!r}")


def _atomic_write(path: Path, data: bytes | memoryview) -> None:
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.partial")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
