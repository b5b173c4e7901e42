"""Relabel a store's `reward` offline with a reward model, into a NEW store (the source is never modified).

The recorder's convention is kept: reward[t] is the reward *after* action t, i.e. of observation t+1. The
last step's next observation is not stored, so it takes the score of the episode's last frame. Modes:
"prob" writes the model's success probability; "flag" writes 1.0 where the hysteresis flag is up.
Every other key, the episode metadata and the store attrs are copied; attrs record where the rewards
came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from robot_rl.rewards.base import Reward
from robot_rl.rewards.hysteresis import hysteresis_flags


def relabel_store(src: Path, dst: Path, reward: Reward, mode: Literal["prob", "flag"] = "prob",
                  batch: int = 256) -> dict[str, Any]:
    """Copy `src` to a new store `dst` with `reward` recomputed; returns counts."""
    from robot_rl.data.store import EpisodeStore

    if Path(dst).resolve() == Path(src).resolve():
        raise ValueError("relabel writes a new store; dst must differ from src")
    if Path(dst).exists() and any(Path(dst).iterdir()):
        raise FileExistsError(f"{dst} already exists; relabel writes a new store")
    total = 0.0
    with EpisodeStore.open(src) as source:
        if "reward" not in source.specs:
            raise KeyError(f"{src} has no `reward` key to relabel")
        attrs = source.attrs | {"relabelled_from": str(src), "reward_model": reward.kind,
                                "reward_model_threshold": reward.threshold, "reward_model_k": reward.k,
                                "reward_mode": mode}
        metas = source.all_meta()
        with EpisodeStore.create(dst, source.specs, attrs) as out:
            for i, meta in enumerate(metas):
                ep = source.read_episode(i)
                ep["reward"] = _episode_reward(reward, ep, mode, batch)
                total += float(ep["reward"].sum())
                writer = out.begin_episode(source=meta.source, **meta.info)
                writer.extend(ep)
                writer.commit(success=None if meta.success < 0 else bool(meta.success))
    return {"episodes": len(metas), "reward_sum": total, "dst": str(dst)}


def _episode_reward(reward: Reward, ep: dict[str, np.ndarray], mode: str, batch: int) -> np.ndarray:
    n = len(ep["reward"])
    probs = np.concatenate([reward.scorer.predict({c: ep[c][a:a + batch] for c in reward.cameras})
                            for a in range(0, n, batch)])
    values = probs if mode == "prob" else hysteresis_flags(probs >= reward.threshold, np.array([n]), reward.k)
    values = np.asarray(values, dtype=np.float32)
    return np.concatenate([values[1:], values[-1:]])  # reward[t] belongs to observation t + 1
