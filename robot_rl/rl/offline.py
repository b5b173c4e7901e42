"""Offline training of the diffusion chunk policy and the chunked critic on stored episodes.

One `Trainer` owns everything a run needs to continue exactly where it stopped: networks, EMA,
optimizers, the samplers' numpy RNG states, the torch generator (noise, timesteps, crops) and the step.
`save`/`Trainer.resume` round-trip all of it through one safetensors checkpoint (rl/checkpoint.py), so
N steps + save + resume + M steps gives the same weights as N + M steps in one go.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robot_rl.critics.chunk_critic import ChunkCritic, critic_loss, polyak
from robot_rl.data.episodes import EpisodeData
from robot_rl.data.normalizer import Normalizer
from robot_rl.data.samplers import WindowConfig, WindowSampler, batch_to_torch, gather_steps, resolve_obs_keys
from robot_rl.data.td_sampler import ChunkTDSampler, TDConfig
from robot_rl.policies.ema import EMA
from robot_rl.policies.policy import DiffusionChunkPolicy, PolicyConfig
from robot_rl.rl import checkpoint as ckpt
from robot_rl.rl.config import TrainConfig, from_json, to_json

KIND = "robot_rl.offline"


def data_shapes(data: EpisodeData, cfg: PolicyConfig) -> dict[str, tuple[int, ...]]:
    """Per-step shapes of the policy's observation keys (resolved against the data) and its action key."""
    keys = [k for k in resolve_obs_keys(data, cfg.obs_keys) if not k.startswith("depth/")]
    return {k: tuple(data[k].shape[1:]) for k in (*keys, cfg.action_key)}


class Trainer:
    """Policy (+ EMA) and optional critic (+ target) with their optimizers and RNG state."""

    def __init__(self, cfg: TrainConfig, shapes: dict[str, tuple[int, ...]], normalizer: Normalizer) -> None:
        torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)  # parameter init
        self.cfg, self.shapes, self.normalizer = cfg, shapes, normalizer
        self.policy = DiffusionChunkPolicy(cfg.policy, shapes, normalizer)
        self.ema = EMA(self.policy, power=cfg.ema_power, max_value=cfg.ema_max)
        self.opt = torch.optim.AdamW(self.policy.parameters(), lr=cfg.lr, betas=cfg.betas,
                                     weight_decay=cfg.weight_decay)
        self.critic = self.critic_target = self.critic_opt = None
        if cfg.train_critic:
            state = {k: v for k, v in shapes.items() if k.startswith("state/") or k == cfg.policy.action_key}
            self.critic = ChunkCritic(cfg.critic, state, normalizer, cfg.policy.n_obs, cfg.policy.action_key)
            self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
            self.critic_opt = torch.optim.AdamW(self.critic.parameters(), lr=cfg.critic.lr)
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.step = 0
        self.samplers: dict[str, Any] = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(cls, cfg: TrainConfig, data: EpisodeData) -> Trainer:
        shapes = data_shapes(data, cfg.policy)
        keys = [k for k in shapes if not k.startswith("image/")]
        trainer = cls(cfg, shapes, Normalizer.fit(data, keys))
        trainer.attach(data)
        return trainer

    def attach(self, data: EpisodeData) -> None:
        """Build the samplers over `data` (checked against the shapes the networks were built for)."""
        for key, shape in self.shapes.items():
            if key not in data.keys or tuple(data[key].shape[1:]) != shape:
                got = tuple(data[key].shape[1:]) if key in data.keys else "missing"
                raise ValueError(f"data key {key!r}: per-step shape {got}, the checkpoint expects {shape}")
        p, obs_keys = self.cfg.policy, tuple(k for k in self.shapes if k != self.cfg.policy.action_key)
        self.data = data
        window = WindowConfig(p.n_obs, p.horizon, obs_keys, p.action_key, self.cfg.batch_size, self.cfg.seed)
        self.samplers = {"policy": WindowSampler(data, window)}
        if self.critic is not None:
            c = self.cfg.critic
            self.samplers["critic"] = ChunkTDSampler(data, TDConfig(
                c.horizon, c.gamma, p.n_obs, tuple(self.critic.state_keys), p.action_key,
                batch_size=c.batch_size, seed=self.cfg.seed + 1))

    # ------------------------------------------------------------------ training
    def lr_at(self, step: int) -> float:
        """Linear warm-up then cosine decay to 0 at cfg.steps."""
        cfg = self.cfg
        if step < cfg.warmup_steps:
            return cfg.lr * (step + 1) / cfg.warmup_steps
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * progress))

    def train_step(self) -> dict[str, float]:
        """One policy update (and one critic update when enabled); returns metrics."""
        for group in self.opt.param_groups:
            group["lr"] = self.lr_at(self.step)
        self.policy.train()
        batch = batch_to_torch(self.samplers["policy"].sample())
        loss = self.policy.loss(batch, self.generator)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.ema.update(self.policy)
        metrics = {"loss": loss.item(), "lr": self.opt.param_groups[0]["lr"]}
        if self.critic is not None:
            metrics |= self.critic_step()
        self.step += 1
        return metrics

    def critic_step(self) -> dict[str, float]:
        batch = batch_to_torch(self.samplers["critic"].sample())
        loss, metrics = critic_loss(self.critic, self.critic_target, batch, self.next_chunk(batch),
                                    self.generator)
        self.critic_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_opt.step()
        polyak(self.critic_target, self.critic, self.cfg.critic.tau)
        return metrics

    def next_chunk(self, batch: dict) -> torch.Tensor:
        """a' (B, h, A) normalized at step t+h: the data's next chunk, or an EMA-policy sample."""
        c, key = self.cfg.critic, self.cfg.policy.action_key
        if c.target_action == "policy":
            chunk = self.ema.model.sample(batch["next_obs"], 1, steps=c.target_policy_steps,
                                          generator=self.generator)
            return chunk[:, 0, :c.horizon]
        t = batch["anchor"].numpy()
        ep = batch["episode"].numpy()
        first, last = self.data.episode_starts[ep], self.data.episode_ends[ep] - 1
        steps = t[:, None] + c.horizon + np.arange(c.horizon)
        act, _ = gather_steps(self.data.data, [key], steps, first, last)
        return self.normalizer.normalize(key, torch.from_numpy(act[key]).float())

    # ------------------------------------------------------------------ checkpoints
    def save(self, path: str | Path, extra_state: dict[str, Any] | None = None) -> Path:
        tensors, groups = ckpt.training_tensors(self)
        state = {"step": self.step, "ema_step": self.ema.step, "optimizers": groups,
                 "samplers": {k: s.rng.bit_generator.state for k, s in self.samplers.items()},
                 "shapes": {k: list(v) for k, v in self.shapes.items()}, **(extra_state or {})}
        return ckpt.save(path, tensors, KIND, to_json(self.cfg), state, self.normalizer.metadata())

    @classmethod
    def load(cls, path: str | Path, data: EpisodeData | None = None,
             cfg: TrainConfig | None = None) -> Trainer:
        """Rebuild a trainer from a checkpoint; with `data`, restore the samplers too (exact resume).
        `cfg` replaces the saved config (e.g. more steps); network settings must stay the same."""
        tensors, info = ckpt.load(path, KIND)
        saved = from_json(TrainConfig, info["config"])
        if cfg is not None:
            differ = [f for f in ("policy", "critic", "train_critic") if getattr(cfg, f) != getattr(saved, f)]
            if differ:
                raise ckpt.CheckpointError(f"{path}: the config's {', '.join(differ)} settings differ from "
                                           f"the checkpoint's; resume with the flags the run started with")
        state = info["state"]
        trainer = cls(cfg or saved, {k: tuple(v) for k, v in state["shapes"].items()},
                      load_normalizer(tensors, info, path))
        trainer.load_state(tensors, state, str(path))
        if data is not None:
            trainer.attach(data)
            for name, rng_state in state["samplers"].items():
                if name in trainer.samplers:
                    trainer.samplers[name].rng.bit_generator.state = rng_state
        return trainer

    def load_state(self, tensors: dict[str, torch.Tensor], state: dict[str, Any], where: str) -> None:
        ckpt.restore_training_tensors(self, tensors, state["optimizers"], where)
        self.step, self.ema.step = int(state["step"]), int(state["ema_step"])


def load_normalizer(tensors: dict[str, torch.Tensor], info: dict[str, Any], where: Any) -> Normalizer:
    arrays = {k: v.numpy() for k, v in tensors.items() if k.startswith("normalizer/")}
    try:
        return Normalizer.from_tensors(arrays, info["normalizer"], prefix="normalizer/", where=str(where))
    except ValueError as e:
        raise ckpt.CheckpointError(f"checkpoint {where}: {e}") from None


def load_policy(path: str | Path, ema: bool = True) -> DiffusionChunkPolicy:
    """The policy of a checkpoint (EMA weights by default) in eval mode, for evaluation and deployment."""
    tensors, info = ckpt.load(path, KIND)
    try:
        cfg = from_json(TrainConfig, info["config"]).policy
        shapes = {k: tuple(v) for k, v in info["state"]["shapes"].items()}
    except (KeyError, TypeError, ValueError) as e:
        raise ckpt.CheckpointError(f"checkpoint {path}: unreadable config ({e}): "
                                   f"{json.dumps(info['config'])[:200]}") from None
    policy = DiffusionChunkPolicy(cfg, shapes, load_normalizer(tensors, info, path))
    ckpt.load_module(policy, tensors, "ema/" if ema else "policy/", str(path))
    return policy.eval()
