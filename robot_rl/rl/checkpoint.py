"""Checkpoints: one safetensors file (weights, EMA, normalizer, optimizer, RNG) + a JSON config beside it.

File `<name>.safetensors`: tensors under prefixes (`policy/`, `ema/`, `normalizer/`, `critic/`,
`critic_target/`, `optim/<name>/<param>/<state>`, `rng/...`), and header metadata
{"format": "robot_rl.checkpoint", "version": "1", "kind": ..., "config": <JSON>, "state": <JSON>,
"normalizer": <JSON>}. `<name>.json` repeats config and state for people and tools. Both are written to
a temporary file, fsynced and renamed into place (atomic on POSIX); the .safetensors is renamed last
and alone is authoritative. Loading never unpickles anything (no torch.load).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save
from torch import nn

FORMAT = "robot_rl.checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file is missing, foreign, from another version, or does not fit the model."""


def atomic_write(path: Path, blob: bytes) -> None:
    """Write `blob` to `path` via a fsynced temporary file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save(path: str | Path, tensors: Mapping[str, torch.Tensor], kind: str, config: Any, state: Any,
         normalizer_meta: Mapping[str, str] | None = None) -> Path:
    """Write a checkpoint; `config` and `state` must be JSON-serializable. Returns the .safetensors path."""
    path = Path(path).with_suffix(".safetensors")
    meta = {"format": FORMAT, "version": str(VERSION), "kind": kind, "config": json.dumps(config),
            "state": json.dumps(state), "normalizer": json.dumps(dict(normalizer_meta or {}))}
    blob = st_save({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, metadata=meta)
    sidecar = {"format": FORMAT, "version": VERSION, "kind": kind, "config": config, "state": state}
    atomic_write(path.with_suffix(".json"), (json.dumps(sidecar, indent=2) + "\n").encode())
    atomic_write(path, blob)
    return path


def load(path: str | Path, kind: str | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, {"kind", "config", "state", "normalizer"}) of a checkpoint, with clear errors."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory; pass a .safetensors checkpoint file "
                              f"(e.g. {path}/last.safetensors)")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                found = dict(list(meta.items())[:4]) or "(none)"
                raise CheckpointError(f"{path} is not a robot_rl checkpoint: a safetensors file with "
                                      f"metadata {found}, expected format={FORMAT!r}")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is not a robot_rl checkpoint: not a safetensors file ({e})") from None
    if meta.get("version") != str(VERSION):
        raise CheckpointError(f"{path} is checkpoint format version {meta.get('version')}; "
                              f"this robot_rl reads {VERSION}")
    if kind is not None and meta.get("kind") != kind:
        raise CheckpointError(f"{path} holds a {meta.get('kind')!r} checkpoint, expected {kind!r}")
    try:
        info = {"kind": meta["kind"], **{k: json.loads(meta[k]) for k in ("config", "state", "normalizer")}}
    except (KeyError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is a damaged robot_rl checkpoint: metadata {e}") from None
    return tensors, info


def with_prefix(prefix: str, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}{k}": v for k, v in state.items()}


def strip_prefix(prefix: str, tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_module(module: nn.Module, tensors: Mapping[str, torch.Tensor], prefix: str, where: str) -> None:
    """Load `prefix`-ed tensors into `module`, checking names and shapes first (clear errors, no partial
    loads)."""
    got = strip_prefix(prefix, tensors)
    want = module.state_dict()
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    if missing or extra:
        raise CheckpointError(f"checkpoint {where}: tensors under {prefix!r} do not match the model: missing "
                              f"{missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected {extra[:5]}")
    for name, value in want.items():
        if tuple(got[name].shape) != tuple(value.shape):
            raise CheckpointError(f"checkpoint {where}: tensor {prefix}{name} has shape "
                                  f"{tuple(got[name].shape)}, model expects {tuple(value.shape)}")
    module.load_state_dict(got)


def optimizer_tensors(opt: torch.optim.Optimizer, name: str) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """An optimizer's state as flat tensors `optim/<name>/<param index>/<key>` + its JSON param groups."""
    sd = opt.state_dict()
    tensors = {f"optim/{name}/{i}/{k}": (v if torch.is_tensor(v) else torch.tensor(v))
               for i, st in sd["state"].items() for k, v in st.items()}
    return tensors, sd["param_groups"]


def load_optimizer(opt: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor], groups: list[dict],
                   name: str) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in strip_prefix(f"optim/{name}/", tensors).items():
        i, k = key.split("/", 1)
        state.setdefault(int(i), {})[k] = value
    opt.load_state_dict({"state": state, "param_groups": groups})


def training_tensors(trainer: Any) -> tuple[dict[str, torch.Tensor], dict[str, list[dict]]]:
    """Tensors of everything a policy (+ critic) trainer needs to resume exactly, and the optimizers'
    param groups. `trainer` has policy, ema, normalizer, opt, generator and optionally critic,
    critic_target, critic_opt (the offline Trainer and the online Learner both do)."""
    tensors = with_prefix("policy/", trainer.policy.state_dict())
    tensors |= with_prefix("ema/", trainer.ema.model.state_dict())
    tensors |= {k: torch.from_numpy(v.copy(order="C")) for k, v in
                trainer.normalizer.to_tensors("normalizer/").items()}
    opt_t, policy_groups = optimizer_tensors(trainer.opt, "policy")
    tensors |= opt_t
    groups = {"policy": policy_groups}
    if trainer.critic is not None:
        tensors |= with_prefix("critic/", trainer.critic.state_dict())
        tensors |= with_prefix("critic_target/", trainer.critic_target.state_dict())
        crit_t, groups["critic"] = optimizer_tensors(trainer.critic_opt, "critic")
        tensors |= crit_t
    tensors["rng/torch"] = trainer.generator.get_state()
    return tensors, groups


def restore_training_tensors(trainer: Any, tensors: Mapping[str, torch.Tensor], groups: dict[str, list[dict]],
                             where: str) -> None:
    """The inverse of `training_tensors`: load weights, optimizers and the torch RNG into `trainer`."""
    load_module(trainer.policy, tensors, "policy/", where)
    load_module(trainer.ema.model, tensors, "ema/", where)
    load_optimizer(trainer.opt, tensors, groups["policy"], "policy")
    if trainer.critic is not None:
        load_module(trainer.critic, tensors, "critic/", where)
        load_module(trainer.critic_target, tensors, "critic_target/", where)
        load_optimizer(trainer.critic_opt, tensors, groups["critic"], "critic")
    trainer.generator.set_state(tensors["rng/torch"])
