"""Per-key min/max normalizer mapping each dimension to [-1, 1] (diffusion policy convention).

For a key with per-step shape S, `min`/`max` have shape S (reduced over the step axis of the fitted
data). normalize: y = 2 (x - min) / (max - min) - 1, broadcast over any leading axes (B, T, ...).
Dimensions whose range max - min is below `eps` (near-constant: a gripper never used, a fixed joint)
map to 0 and unnormalize back to their centre (min + max) / 2, instead of blowing noise up by 1/range.
Values of fitted data land in [-1, 1] exactly (the formula is monotone in floating point); new data may
fall outside, and callers clip where they need to.

Saved with safetensors (never pickle): tensors `<key>.min`, `<key>.max` and metadata
{"format": "robot_rl.normalizer", "version": "1", "eps": "<float>"}. The same tensors can be embedded
in a checkpoint under a prefix with `to_tensors(prefix)` / `from_tensors(tensors, metadata, prefix)`.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

FORMAT = "robot_rl.normalizer"
FORMAT_VERSION = 1
DEFAULT_EPS = 1e-4
"""Ranges below this (in the key's units) count as constant."""


class Normalizer:
    """Min/max to [-1, 1] per key and dimension. Build with `fit`, `load` or `from_bytes`."""

    def __init__(self, stats: Mapping[str, tuple[np.ndarray, np.ndarray]], eps: float = DEFAULT_EPS) -> None:
        self.eps = float(eps)
        self._min: dict[str, np.ndarray] = {}
        self._max: dict[str, np.ndarray] = {}
        for key, (lo, hi) in stats.items():
            lo, hi = np.asarray(lo), np.asarray(hi)
            if lo.shape != hi.shape or np.any(~(lo <= hi)):
                raise ValueError(f"normalizer key {key!r}: need min <= max of one shape, "
                                 f"got {lo.shape} {hi.shape}")
            self._min[key], self._max[key] = lo, hi
        self._cache: dict[tuple, tuple] = {}

    @classmethod
    def fit(cls, arrays: Mapping[str, np.ndarray] | Any, keys: Sequence[str] | None = None,
            eps: float = DEFAULT_EPS) -> Normalizer:
        """Fit on step-major arrays (N, *shape) (a dict or an EpisodeData); min/max reduce axis 0.

        `keys` default: every floating-point key (images are uint8 and are scaled by the encoder instead).
        """
        data = arrays.data if hasattr(arrays, "episode_ends") else arrays
        keys = list(keys) if keys is not None else [k for k, v in data.items() if v.dtype.kind == "f"]
        stats = {}
        for key in keys:
            x = np.asarray(data[key])
            if len(x) == 0:
                raise ValueError(f"cannot fit the normalizer on key {key!r}: no data")
            if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
                raise ValueError(f"cannot fit the normalizer on key {key!r}: it holds NaN or inf")
            dtype = np.result_type(x.dtype, np.float32)
            stats[key] = (x.min(axis=0).astype(dtype), x.max(axis=0).astype(dtype))
        return cls(stats, eps)

    # ------------------------------------------------------------------ mapping
    @property
    def keys(self) -> list[str]:
        return list(self._min)

    def min(self, key: str) -> np.ndarray:
        return self._min[key]

    def max(self, key: str) -> np.ndarray:
        return self._max[key]

    def normalize(self, key: str, x: Any) -> Any:
        """x (..., *shape) in the key's units -> normalized, same type (numpy or torch) and float dtype."""
        lo, rng, live, _, _ = self._params(key, x)
        return (2 * (x - lo) / rng - 1) * live

    def unnormalize(self, key: str, y: Any) -> Any:
        """Inverse of `normalize`; constant dimensions return their recorded centre."""
        _, _, _, half, base = self._params(key, y)
        return (y + 1) * half + base

    def normalize_dict(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Normalize every entry whose key the normalizer knows; pass the others (images, masks) through."""
        return {k: self.normalize(k, v) if k in self._min else v for k, v in values.items()}

    def unnormalize_dict(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self.unnormalize(k, v) if k in self._min else v for k, v in values.items()}

    def _params(self, key: str, x: Any) -> tuple:
        """(min, safe range, live mask, live half-range, base) in x's float dtype and device, cached."""
        if key not in self._min:
            raise KeyError(f"the normalizer has no key {key!r}; it has {self.keys}")
        shape = self._min[key].shape
        if tuple(x.shape[len(x.shape) - len(shape):]) != shape:
            raise ValueError(f"{key!r}: value shape {tuple(x.shape)} does not end in the fitted "
                             f"shape {shape}")
        is_torch = type(x).__module__.startswith("torch")
        dtype = x.dtype if (x.is_floating_point() if is_torch else x.dtype.kind == "f") else None
        cache_key = (key, str(dtype), str(x.device) if is_torch else "numpy")
        if cache_key not in self._cache:
            self._cache[cache_key] = self._make_params(key, dtype, x.device if is_torch else None, is_torch)
        return self._cache[cache_key]

    def _make_params(self, key: str, dtype: Any, device: Any, is_torch: bool) -> tuple:
        if is_torch:  # compute in float32/64, then cast (numpy has no bfloat16)
            np_dtype = np.float64 if str(dtype) == "torch.float64" else np.float32
        else:
            np_dtype = np.float32 if dtype is None else dtype
        lo, hi = self._min[key].astype(np_dtype), self._max[key].astype(np_dtype)
        rng = hi - lo  # the same subtraction as x - lo in normalize: keeps fitted data inside [-1, 1]
        live = rng >= self.eps
        half = np.where(live, rng / 2, 0)
        base = np.where(live, lo, lo + (hi - lo) / 2)  # constant dims unnormalize to their centre
        params = tuple(p.astype(np_dtype) for p in (lo, np.where(live, rng, 1), live, half, base))
        if not is_torch:
            return params
        import torch

        return tuple(torch.from_numpy(p).to(device=device, dtype=dtype or torch.float32) for p in params)

    # ------------------------------------------------------------------ saving
    def to_tensors(self, prefix: str = "") -> dict[str, np.ndarray]:
        """{prefix<key>.min, prefix<key>.max} arrays, for save or to embed in a checkpoint."""
        out = {}
        for key in self._min:
            out[f"{prefix}{key}.min"], out[f"{prefix}{key}.max"] = self._min[key], self._max[key]
        return out

    def metadata(self) -> dict[str, str]:
        return {"format": FORMAT, "version": str(FORMAT_VERSION), "eps": repr(self.eps)}

    @classmethod
    def from_tensors(cls, tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None,
                     prefix: str = "", where: str = "tensors") -> Normalizer:
        """Inverse of `to_tensors` + `metadata`; raises ValueError naming what was found otherwise."""
        meta = dict(metadata or {})
        if meta.get("format") != FORMAT:
            raise ValueError(f"{where} is not a robot_rl normalizer: metadata {meta or '(none)'} has no "
                             f"format={FORMAT!r}; tensors found: {sorted(tensors)[:8]}")
        if meta.get("version") != str(FORMAT_VERSION):
            raise ValueError(f"{where} is normalizer format version {meta.get('version')!r}; this robot_rl "
                             f"reads version {FORMAT_VERSION}")
        names = [n[len(prefix):] for n in tensors if n.startswith(prefix)]
        keys = sorted({n.rsplit(".", 1)[0] for n in names})
        missing = [f"{k}.{s}" for k in keys for s in ("min", "max") if f"{k}.{s}" not in names]
        if missing or any(not n.endswith((".min", ".max")) for n in names):
            raise ValueError(f"{where}: malformed normalizer tensors {sorted(names)[:8]} (missing {missing})")
        stats = {k: (tensors[f"{prefix}{k}.min"], tensors[f"{prefix}{k}.max"]) for k in keys}
        return cls(stats, float(meta.get("eps", DEFAULT_EPS)))

    def save(self, path: str | Path) -> None:
        safetensors.numpy.save_file(self.to_tensors(), str(path), metadata=self.metadata())

    def to_bytes(self) -> bytes:
        return safetensors.numpy.save(self.to_tensors(), metadata=self.metadata())

    @classmethod
    def load(cls, path: str | Path) -> Normalizer:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"{path} is not a normalizer file: found "
                             f"{'a directory' if path.is_dir() else 'nothing'} there")
        with open(path, "rb") as f:
            head = f.read(8)
            meta = _header_metadata(head, f.read, path.stat().st_size, str(path))
        return cls.from_tensors(safetensors.numpy.load_file(str(path)), meta, where=str(path))

    @classmethod
    def from_bytes(cls, blob: bytes) -> Normalizer:
        view = memoryview(blob)
        pos = [8]

        def read(n: int) -> bytes:
            out = bytes(view[pos[0]:pos[0] + n])
            pos[0] += n
            return out

        meta = _header_metadata(bytes(view[:8]), read, len(blob), "bytes")
        return cls.from_tensors(safetensors.numpy.load(bytes(blob)), meta, where="bytes")

    def __repr__(self) -> str:
        return f"Normalizer({ {k: v.shape for k, v in self._min.items()} }, eps={self.eps})"


def _header_metadata(head: bytes, read: Any, size: int, where: str) -> dict[str, str]:
    """The `__metadata__` of a safetensors header (8-byte little-endian length + JSON), with clear errors."""
    n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
    if not 0 < n <= size - 8 or n > 100 << 20:
        raise ValueError(f"{where} is not a safetensors file (first bytes {head[:8]!r}); expected a "
                         f"normalizer saved by robot_rl")
    try:
        header = json.loads(read(n))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{where} is not a safetensors file: its header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{where} is not a safetensors file: header is {type(header).__name__}")
    meta = header.get("__metadata__") or {}
    if meta.get("format") != FORMAT:
        tensors = sorted(k for k in header if k != "__metadata__")[:8]
        raise ValueError(f"{where} is a safetensors file but not a robot_rl normalizer: metadata "
                         f"{meta or '(none)'}, tensors {tensors}; expected metadata format={FORMAT!r}")
    return meta
