"""Creating a Learner from a `robot-rl train` checkpoint, and its own checkpoints (resume exactly).

A fine-tuning checkpoint (kind "robot_rl.finetune", rl/checkpoint.py format) holds the policy, EMA,
critic (+ target), optimizers, normalizer, torch RNG, the online replay buffers (`replay/online/...`,
`replay/good/...`) and JSON state (counters, sampler RNG states, shapes, configs). The offline demos are
not copied: they are reloaded from their store.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from robot_rl.data.episodes import EpisodeData
from robot_rl.policies.policy import PolicyConfig
from robot_rl.rl import checkpoint as ckpt
from robot_rl.rl.config import TrainConfig, from_json, to_json
from robot_rl.rl.learner import Learner, LearnerConfig
from robot_rl.rl.offline import KIND as OFFLINE_KIND
from robot_rl.rl.offline import load_normalizer

KIND = "robot_rl.finetune"


def from_pretrained(cfg: LearnerConfig, path: str | Path, offline: EpisodeData) -> Learner:
    """A learner starting from an offline checkpoint's EMA policy (its normalizer and shapes always;
    its weights when cfg.pretrained)."""
    tensors, info = ckpt.load(path, OFFLINE_KIND)
    policy_cfg = from_json(TrainConfig, info["config"]).policy
    shapes = {k: tuple(v) for k, v in info["state"]["shapes"].items()}
    weights = ckpt.strip_prefix("ema/", tensors)
    return Learner(cfg, policy_cfg, shapes, load_normalizer(tensors, info, path), offline, weights)


def save(learner: Learner, path: str | Path, extra: dict | None = None) -> Path:
    """Write everything `resume` needs (atomic)."""
    tensors, optimizers = ckpt.training_tensors(learner)
    tensors |= {f"replay/{k}": torch.from_numpy(v) for k, v in learner.replay.to_arrays().items()}
    state = {"step": learner.step, "env_steps": learner.env_steps, "episodes": learner.episodes,
             "critic_steps": learner.critic_steps, "pending": learner.pending, "ema_step": learner.ema.step,
             "optimizers": optimizers, "shapes": {k: list(v) for k, v in learner.shapes.items()},
             "samplers": {k: s.rng.bit_generator.state for k, s in learner.replay.samplers.items()},
             **(extra or {})}
    config = {"learner": to_json(learner.cfg), "policy": to_json(learner.policy.cfg)}
    return ckpt.save(path, tensors, KIND, config, state, learner.normalizer.metadata())


def resume(path: str | Path, offline: EpisodeData) -> tuple[Learner, dict]:
    """Rebuild a learner from its checkpoint: weights, optimizers, replay, counters, RNG. Returns
    (learner, the checkpoint's JSON state)."""
    tensors, info = ckpt.load(path, KIND)
    cfg = from_json(LearnerConfig, info["config"]["learner"])
    policy_cfg = from_json(PolicyConfig, info["config"]["policy"])
    state = info["state"]
    shapes = {k: tuple(v) for k, v in state["shapes"].items()}
    learner = Learner(cfg, policy_cfg, shapes, load_normalizer(tensors, info, path), offline)
    ckpt.restore_training_tensors(learner, tensors, state["optimizers"], str(path))
    learner.replay.load_arrays({k: v.numpy() for k, v in ckpt.strip_prefix("replay/", tensors).items()})
    for name, sampler in learner.replay.samplers.items():
        sampler.rng.bit_generator.state = state["samplers"][name]
    for key in ("step", "env_steps", "episodes", "critic_steps"):
        setattr(learner, key, int(state[key]))
    learner.pending, learner.ema.step = float(state["pending"]), int(state["ema_step"])
    return learner, state


def load_offline(store: str | Path, shapes_from: str | Path) -> EpisodeData:
    """The demos of `store`, restricted to the keys a checkpoint's policy reads (+ step keys)."""
    from robot_rl.data.store import EpisodeStore

    _, info = ckpt.load(shapes_from)
    shapes = info["state"]["shapes"]
    keys = [*shapes, "reward", "terminal"]
    with EpisodeStore.open(store) as db:
        keys += ["intervention"] if "intervention" in db.keys else []
        return EpisodeData.from_store(db, list(dict.fromkeys(keys)))



def empty_offline(shapes_from: str | Path) -> EpisodeData:
    """No demos: an empty offline buffer with a checkpoint's keys (fine-tuning on online data only)."""
    _, info = ckpt.load(shapes_from)
    specs = {k: (tuple(v), np.float32) for k, v in info["state"]["shapes"].items()}
    return EpisodeData.empty(specs | {"reward": ((), np.float32), "terminal": ((), bool)})


def actor_from_pretrained(cfg: LearnerConfig, path: str | Path, seed: int = 0):
    """A QChunkPolicy with the networks a learner of `cfg` publishes, built from an offline checkpoint
    (pretrained weights when cfg.pretrained; the critic stays unused until a snapshot brings it)."""
    from robot_rl.critics.chunk_critic import ChunkCritic
    from robot_rl.policies.policy import DiffusionChunkPolicy
    from robot_rl.rl.actor import QChunkPolicy

    tensors, info = ckpt.load(path, OFFLINE_KIND)
    policy_cfg = from_json(TrainConfig, info["config"]).policy
    shapes = {k: tuple(v) for k, v in info["state"]["shapes"].items()}
    normalizer = load_normalizer(tensors, info, path)
    torch.manual_seed(cfg.seed)
    policy = DiffusionChunkPolicy(policy_cfg, shapes, normalizer)
    if cfg.pretrained:
        ckpt.load_module(policy, tensors, "ema/", str(path))
    policy.eval().requires_grad_(False)
    actor = QChunkPolicy(policy, None, cfg.n_samples, seed, name=cfg.algo)
    if cfg.uses_critic:
        state = {k: v for k, v in shapes.items() if k.startswith("state/") or k == policy_cfg.action_key}
        actor.spare_critic = ChunkCritic(cfg.critic, state, normalizer, policy_cfg.n_obs,
                                         policy_cfg.action_key).requires_grad_(False)
    return actor
