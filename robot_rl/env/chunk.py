"""Executing a chunk of actions on an environment, one control step each.

This is the simulator-side executor: every action of the chunk is applied at the next control
step, so nothing is ever late. (The hardware executor additionally timestamps actions and drops
those already late, DESIGN §3.)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np


@dataclasses.dataclass
class ChunkResult:
    """What happened while a chunk ran; index i is the step taken with actions[i]."""

    observations: list[dict[str, np.ndarray]]
    """Observation after each executed action."""
    rewards: np.ndarray
    """(n,) float32 rewards."""
    infos: list[dict[str, Any]]
    """Info after each executed action."""
    terminated: bool
    """The episode terminated during the chunk."""
    truncated: bool
    """The episode was truncated during the chunk."""

    @property
    def n_executed(self) -> int:
        """Actions executed (fewer than the chunk's length if the episode ended early)."""
        return len(self.rewards)

    @property
    def done(self) -> bool:
        return self.terminated or self.truncated


def execute_chunk(env: gym.Env, actions: np.ndarray) -> ChunkResult:
    """Run `actions` (H, A) one control step each; stop early when the episode ends."""
    actions = np.asarray(actions)
    if actions.ndim != 2:
        raise ValueError(f"actions must be (H, A), got shape {actions.shape}")
    obs, rewards, infos = [], [], []
    terminated = truncated = False
    for a in actions:
        o, r, terminated, truncated, info = env.step(a)
        obs.append(o)
        rewards.append(r)
        infos.append(info)
        if terminated or truncated:
            break
    return ChunkResult(obs, np.asarray(rewards, dtype=np.float32), infos, bool(terminated), bool(truncated))
