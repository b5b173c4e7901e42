"""TrainConfig (tyro-parsed, saved with every checkpoint) and JSON <-> dataclass conversion."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from robot_rl.critics.chunk_critic import CriticConfig
from robot_rl.policies.policy import PolicyConfig


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Offline training of the diffusion chunk policy and (optionally) the chunked critic."""

    policy: PolicyConfig = PolicyConfig()
    """Policy network and sampler."""
    critic: CriticConfig = CriticConfig()
    """Chunked critic (trained only with train_critic)."""
    train_critic: bool = False
    """Pretrain the critic on the stored episodes (sparse success rewards) alongside the policy."""
    steps: int = 20000
    """Policy updates (training stops earlier when time_budget_s runs out)."""
    batch_size: int = 64
    """Windows per policy update."""
    lr: float = 3e-4
    """Peak AdamW learning rate (notes: 1e-4 for long runs; short CPU runs converge faster at 3e-4)."""
    betas: tuple[float, float] = (0.95, 0.999)
    """AdamW betas."""
    weight_decay: float = 1e-6
    """AdamW weight decay."""
    warmup_steps: int = 500
    """Linear learning-rate warm-up steps, then cosine decay to 0 at `steps`."""
    ema_power: float = 0.75
    """EMA warm-up power (decay = 1 - (1 + step) ** -power, capped at ema_max)."""
    ema_max: float = 0.9999
    """Largest EMA decay."""
    time_budget_s: float = 0.0
    """Wall-clock limit of the training loop in seconds (0 = none)."""
    seed: int = 0
    """Seeds parameter init, the samplers, noise, timesteps and crops."""
    threads: int = 1
    """torch CPU threads. 1 by default: the quick config's batch-64 step took the same 53 ms with 2 threads
    on an idle 2-core machine, and 20x longer when other jobs shared the cores (OpenMP threads wait on
    each other)."""
    log_every: int = 50
    """Steps between log lines (TensorBoard, metrics.jsonl, progress bar)."""
    ckpt_every: int = 2000
    """Steps between checkpoints (last.safetensors); one is always written at the end."""
    eval_every: int = 0
    """Steps between evaluations in the task's mirror (0 = only at the end, if eval_episodes > 0)."""
    eval_episodes: int = 10
    """Episodes per evaluation (0 = no evaluation)."""


def to_json(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def from_json(cls: type, values: dict[str, Any]) -> Any:
    """Rebuild a (nested, frozen) dataclass from `to_json` output; lists become tuples; unknown keys fail."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"{cls.__name__} has no fields {unknown}")
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            kwargs[name] = from_json(hint, value)
        else:
            kwargs[name] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)
