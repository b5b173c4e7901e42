"""Tiny fine-tuning fixtures on PointReach (tests/helpers/point_env.py): a barely pretrained chunk policy
checkpoint on a few expert demos, and a loop that practises a ChunkPolicy in the toy env."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robot_rl.critics.chunk_critic import CriticConfig
from robot_rl.data.episodes import EpisodeData
from robot_rl.data.store import EpisodeStore
from robot_rl.policies.policy import PolicyConfig
from robot_rl.rl.config import TrainConfig
from tests.helpers.point_env import PointReach, write_demos

TINY_POLICY = PolicyConfig(horizon=8, n_action_steps=4, down_dims=(16, 32), inference_steps=4)
TINY_CRITIC = CriticConfig(horizon=4, hidden=(64, 64), batch_size=64)


def pretrained(tmp: Path, demos: int = 6, steps: int = 60) -> tuple[Path, EpisodeData]:
    """(checkpoint, offline data) of a tiny policy trained `steps` steps on `demos` expert episodes."""
    from robot_rl.rl.offline import Trainer

    store = write_demos(tmp / "demos.zarr", demos)
    with EpisodeStore.open(store) as db:
        data = EpisodeData.from_store(db)
    cfg = TrainConfig(policy=TINY_POLICY, steps=steps, batch_size=32, warmup_steps=10)
    trainer = Trainer.create(cfg, data)
    for _ in range(steps):
        trainer.train_step()
    return trainer.save(tmp / "pre.safetensors"), data


def run_episode(actor, env: PointReach, seed: int, n_action_steps: int = 4,
                engaged=None) -> tuple[dict[str, np.ndarray], bool]:
    """One episode of `actor` in the toy env; `engaged(t) -> bool` replaces its action by the expert's."""
    obs, _ = env.reset(seed=seed)
    actor.reset()
    rows: dict[str, list] = {k: [] for k in ("state/obs", "action", "reward", "terminal", "intervention")}
    done, t, info = False, 0, {"success": False}
    while not done:
        for a in actor({"state/obs": obs})[:n_action_steps]:
            human = bool(engaged and engaged(t))
            a = env.expert() if human else np.clip(a, -1, 1)
            nxt, r, term, trunc, info = env.step(a)
            for k, v in (("state/obs", obs), ("action", a), ("reward", np.float32(r)), ("terminal", term),
                         ("intervention", human)):
                rows[k].append(v)
            obs, t, done = nxt, t + 1, term or trunc
            if done:
                break
    return {k: np.asarray(v) for k, v in rows.items()}, bool(info["success"])
