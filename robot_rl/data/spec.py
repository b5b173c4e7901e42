"""Per-key specs (shape, dtype, units, frame) and the on-disk layout rule for chunks and codecs.

Layout (measured with `robot-rl bench store`; numbers in robot_rl/data/store.py's docstring):
- images (uint8, H×W×C): one frame per chunk, Blosc-LZ4 with bit shuffle. A frame is the unit
  samplers read, and one-frame chunks mean an append never rewrites an earlier frame.
- everything else (low-dim state, actions, rewards, depth rows): chunks of ~1 MiB along the step
  axis (at least one step), Zstd level 3.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

SUPPORTED_DTYPES = (
    "bool", "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64",
    "float16", "float32", "float64",
)
LOWDIM_CHUNK_BYTES = 1 << 20
CODECS = ("", "lz4", "zstd", "none")


@dataclasses.dataclass(frozen=True)
class KeySpec:
    """What one `data/<key>` array holds per step."""

    shape: tuple[int, ...]
    """Per-step shape, e.g. (7,) for joint positions or (480, 640, 3) for a colour image."""
    dtype: str
    """NumPy dtype name, one of SUPPORTED_DTYPES."""
    units: str = ""
    """Physical units, e.g. "rad", "m", "m/s", "N", "1" (unitless), "rgb" for colour images."""
    frame: str = ""
    """Coordinate frame the values are expressed in, e.g. "base", "front_color_optical_frame"."""
    description: str = ""
    """Free text for humans."""
    chunk_steps: int = 0
    """Steps per chunk on disk; 0 = chosen by the layout rule in this module."""
    codec: str = ""
    """"lz4", "zstd" or "none"; "" = chosen by the layout rule in this module."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        if self.dtype not in SUPPORTED_DTYPES:
            raise ValueError(f"dtype {self.dtype!r} is not supported; expected one of {SUPPORTED_DTYPES}")
        if any(s <= 0 for s in self.shape):
            raise ValueError(f"shape {self.shape} must have positive sizes")
        if self.codec not in CODECS:
            raise ValueError(f"codec {self.codec!r} is not one of {CODECS}")

    @property
    def is_image(self) -> bool:
        """True for H×W×C uint8 colour frames."""
        return self.dtype == "uint8" and len(self.shape) == 3 and self.shape[2] in (1, 3, 4)

    @property
    def step_bytes(self) -> int:
        return int(np.dtype(self.dtype).itemsize * math.prod(self.shape))

    def resolved_chunk_steps(self) -> int:
        if self.chunk_steps > 0:
            return self.chunk_steps
        if self.is_image:
            return 1
        return max(1, LOWDIM_CHUNK_BYTES // self.step_bytes)

    def resolved_codec(self) -> str:
        return self.codec or ("lz4" if self.is_image else "zstd")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"shape": list(self.shape)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> KeySpec:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def specs_from_arrays(arrays: dict[str, np.ndarray], **units: str) -> dict[str, KeySpec]:
    """Specs for step-major arrays (first axis = step); `units` maps key → units where known."""
    return {k: KeySpec(shape=a.shape[1:], dtype=a.dtype.name, units=units.get(k, ""))
            for k, a in arrays.items()}
