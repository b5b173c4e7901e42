"""Blobs between actor and learner (DESIGN §6): safetensors bytes, never pickle.

- Weight snapshot: the actor's networks' tensors (`policy/<name>`, `critic/<name>`) + metadata
  {"format": "robot_rl.weights", "step": learner step}. `decode_weights` checks every name and shape
  against the receiving modules before anything is loaded (a stale or foreign snapshot is refused whole).
- Episode: one practice episode's step arrays {key: (T, ...)} + metadata {"format": "robot_rl.episode",
  "success": "0"/"1", "info": JSON}.
Loading uses `safetensors.*.load(bytes)` only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from safetensors.numpy import load as np_load
from safetensors.numpy import save as np_save
from safetensors.torch import load as torch_load
from safetensors.torch import save as torch_save
from torch import nn

WEIGHTS, EPISODE = "robot_rl.weights", "robot_rl.episode"


class BlobError(ValueError):
    """A blob is not what the receiver expects (format, names, shapes)."""


def _metadata(blob: bytes) -> dict[str, str]:
    """The safetensors header's __metadata__ (without parsing tensors)."""
    try:
        n = int.from_bytes(blob[:8], "little")
        header = json.loads(blob[8:8 + n])
    except (ValueError, UnicodeDecodeError) as e:
        raise BlobError(f"not a safetensors blob ({e})") from None
    return header.get("__metadata__") or {}


def encode_weights(modules: Mapping[str, nn.Module], step: int) -> bytes:
    """{prefix: module} -> safetensors bytes of every module's state_dict under `<prefix>/`."""
    tensors = {f"{p}/{k}": v.detach().contiguous().cpu() for p, m in modules.items()
               for k, v in m.state_dict().items()}
    return torch_save(tensors, metadata={"format": WEIGHTS, "step": str(step)})


def decode_weights(blob: bytes, modules: Mapping[str, nn.Module]) -> tuple[dict[str, dict], int]:
    """Check a snapshot against `modules` ({prefix: module}); returns ({prefix: state_dict}, step).
    Raises BlobError on a foreign blob or any missing/unexpected name or shape mismatch."""
    meta = _metadata(bytes(blob))
    if meta.get("format") != WEIGHTS:
        raise BlobError(f"not a weight snapshot: metadata {dict(list(meta.items())[:3])}")
    tensors = torch_load(bytes(blob))
    states: dict[str, dict] = {}
    for prefix, module in modules.items():
        want = module.state_dict()
        got = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + "/")}
        missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
        if missing or extra:
            raise BlobError(f"snapshot {prefix}/ does not fit: missing {missing[:3]}, unexpected {extra[:3]}")
        bad = [k for k in want if tuple(want[k].shape) != tuple(got[k].shape)]
        if bad:
            raise BlobError(f"snapshot {prefix}/{bad[0]}: shape {tuple(got[bad[0]].shape)}, "
                            f"expected {tuple(want[bad[0]].shape)}")
        states[prefix] = got
    stray = [k for k in tensors if k.split("/", 1)[0] not in modules]
    if stray:
        raise BlobError(f"snapshot holds tensors for unknown modules: {stray[:3]}")
    return states, int(meta.get("step", "0"))


def load_weights(blob: bytes, modules: Mapping[str, nn.Module]) -> int:
    """Validate then load a snapshot into `modules`; returns the learner step it was taken at."""
    states, step = decode_weights(blob, modules)
    with torch.no_grad():
        for prefix, module in modules.items():
            module.load_state_dict(states[prefix])
    return step


def encode_episode(steps: Mapping[str, np.ndarray], success: bool,
                   info: Mapping[str, Any] | None = None) -> bytes:
    """One episode {key: (T, ...)} -> safetensors bytes."""
    arrays = {k: np.ascontiguousarray(v) for k, v in steps.items()}
    meta = {"format": EPISODE, "success": str(int(bool(success))), "info": json.dumps(dict(info or {}))}
    return np_save(arrays, metadata=meta)


def decode_episode(blob: bytes) -> tuple[dict[str, np.ndarray], bool, dict[str, Any]]:
    """Inverse of `encode_episode`: (steps, success, info)."""
    meta = _metadata(bytes(blob))
    if meta.get("format") != EPISODE:
        raise BlobError(f"not an episode blob: metadata {dict(list(meta.items())[:3])}")
    steps = np_load(bytes(blob))
    lengths = {len(v) for v in steps.values()}
    if len(lengths) != 1:
        raise BlobError(f"episode keys have different lengths {lengths}")
    return steps, meta["success"] == "1", json.loads(meta.get("info", "{}"))

