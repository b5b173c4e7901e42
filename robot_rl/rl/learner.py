"""Online fine-tuning learner (DESIGN §5): one class, variants are config (`LearnerConfig.algo` presets).

- "qc" (Q-chunking): start from the pretrained diffusion policy; a chunked critic ensemble (2 members)
  is trained with h-step TD on offline + online data; the actor executes the best of N sampled chunks by
  Q. The policy keeps training by BC (ε-prediction) on demos + intervention steps (+ its own successful
  episodes with `imitate_successes`), in cosine learning-rate cycles whose annealed weights act. Q is
  never backpropagated through the denoising chain.
- "bc": the same BC fine-tuning, no critic (the actor executes one sample).
- "rlpd": from scratch (the pretrained checkpoint only supplies shapes and the normalizer): critic
  ensemble of 10 with min over a random 2 for targets, symmetric 50/50 batches; BC + best-of-N as "qc".
Common settings: update-to-data ratio (`utd`, updates per environment step), `online_fraction` (RLPD's
symmetric batches), `warmup_episodes` (WSRL: collect with the pretrained policy before any update).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Literal

import numpy as np
import torch

from robot_rl.critics.chunk_critic import ChunkCritic, CriticConfig, critic_loss, polyak
from robot_rl.data.episodes import EpisodeData
from robot_rl.data.normalizer import Normalizer
from robot_rl.data.samplers import SOURCE_ONLINE, batch_to_torch, gather_steps
from robot_rl.policies.ema import EMA
from robot_rl.policies.policy import DiffusionChunkPolicy, PolicyConfig
from robot_rl.rl.replay import Replay

Algo = Literal["qc", "bc", "rlpd"]


@dataclasses.dataclass(frozen=True)
class LearnerConfig:
    """Online fine-tuning. `preset(algo)` gives each variant's defaults."""

    algo: Algo = "qc"
    """Variant: "qc" (best-of-N with a chunked critic + BC), "bc" (BC only), "rlpd" (from scratch, critic
    ensemble 10/2)."""
    pretrained: bool = True
    """Start the policy from the checkpoint's EMA weights (False: fresh weights, "rlpd")."""
    utd: float = 1.0
    """Updates (one policy + one critic step) per environment step collected."""
    online_fraction: float = 0.5
    """Share of online samples in every critic batch (RLPD: 0.5); all offline while no online data exists."""
    imitate_successes: bool = False
    """Add the policy's own successful episodes to the BC data (interventions always are). Off: on
    pick_cube, 13 of them beside 10 demos made the annealed policy worse (23/50 vs 40/50 with the demos
    alone, same updates; cause not yet known -- the executed chunks are open loop and noisier than the
    expert's closed-loop actions)."""
    bc_online_fraction: float | None = None
    """Share of good online windows (successes, interventions) in every BC batch; None: in proportion to
    their number, i.e. uniform over demos + good data (a fixed 0.5 let the first two successes make up
    half of every batch, and BC fine-tuning fell from 22% to 8%)."""
    warmup_episodes: int = 10
    """WSRL warm-up: episodes collected with the starting policy before the first update."""
    n_samples: int = 16
    """N chunks sampled per decision; the critic picks the best (1 = plain sampling)."""
    critic: CriticConfig = CriticConfig(horizon=8, hidden=(256, 256), batch_size=256)
    """Chunked critic: h = the executed actions per chunk, ensemble size, subset min, lr, tau, batch."""
    critic_pretrain_steps: int = 500
    """Critic-only TD steps on the offline data before practice starts (0 = none)."""
    batch_size: int = 64
    """Policy windows per BC update."""
    lr: float = 1e-4
    """Policy AdamW learning rate (constant after warm-up)."""
    lr_warmup: int = 200
    """Updates of linear learning-rate warm-up (of every cycle): a fresh Adam's first steps are full-size
    whatever the gradient, which jolted the pretrained policy (its BC loss rose 30% without it)."""
    lr_cycle: int = 1500
    """Updates per cosine learning-rate cycle; at the end of each, when the rate has annealed to 0, the
    trained weights become the acting policy (no EMA). 0: constant rate, the EMA acts. The diffusion
    policy acted best annealed: one cycle on the 10 pick_cube demos took it from 28/50 to 40/50, while
    its pretraining's mid-schedule checkpoints were far below the final one."""
    ema_max: float = 0.999
    """Largest EMA decay of the acting policy."""
    ema_start: int = 200
    """EMA step counter at the start of fine-tuning a pretrained policy (its decay, not 0, from the first
    update; 0 for fresh weights)."""
    seed: int = 0
    """Seeds initialisation, samplers, noise."""
    threads: int = 1
    """torch CPU threads (1: a second thread under contention made steps 20x slower)."""

    @property
    def uses_critic(self) -> bool:
        return self.algo != "bc"


PRESETS: dict[str, LearnerConfig] = {
    "qc": LearnerConfig(),
    "bc": LearnerConfig(algo="bc", n_samples=1, critic_pretrain_steps=0),
    "rlpd": LearnerConfig(algo="rlpd", pretrained=False, ema_start=0, online_fraction=0.5,
                          bc_online_fraction=0.5,
                          critic=CriticConfig(horizon=8, hidden=(256, 256), batch_size=256, ensemble_size=10,
                                              subset_size=2)),
}


def preset(algo: str, **overrides) -> LearnerConfig:
    """The variant's defaults with `overrides` applied."""
    return dataclasses.replace(PRESETS[algo], **overrides)


class Learner:
    """Networks, optimizers, replay and counters of a fine-tuning run (checkpoints: rl/learner_ckpt.py)."""

    def __init__(self, cfg: LearnerConfig, policy_cfg: PolicyConfig, shapes: dict[str, tuple[int, ...]],
                 normalizer: Normalizer, offline: EpisodeData,
                 weights: dict[str, torch.Tensor] | None = None) -> None:
        torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.cfg, self.shapes, self.normalizer = cfg, dict(shapes), normalizer
        self.policy = DiffusionChunkPolicy(policy_cfg, shapes, normalizer)
        if weights is not None and cfg.pretrained:
            self.policy.load_state_dict(weights)
        self.ema = EMA(self.policy, max_value=cfg.ema_max)
        self.ema.step = cfg.ema_start if cfg.pretrained else 0
        self.opt = torch.optim.AdamW(self.policy.parameters(), lr=cfg.lr, betas=(0.95, 0.999),
                                     weight_decay=1e-6)
        self.critic = self.critic_target = self.critic_opt = None
        if cfg.uses_critic:
            state = {k: v for k, v in shapes.items() if k.startswith("state/") or k == policy_cfg.action_key}
            self.critic = ChunkCritic(cfg.critic, state, normalizer, policy_cfg.n_obs, policy_cfg.action_key)
            self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
            self.critic_opt = torch.optim.AdamW(self.critic.parameters(), lr=cfg.critic.lr)
        self.replay = Replay(offline, self.policy.obs_keys, policy_cfg.n_obs, policy_cfg.horizon,
                             cfg.critic.horizon, cfg.critic.gamma, cfg.online_fraction, cfg.batch_size,
                             cfg.critic.batch_size, cfg.seed, cfg.bc_online_fraction,
                             cfg.imitate_successes)
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.step = self.env_steps = self.episodes = self.critic_steps = 0
        self.pending = 0.0

    # ------------------------------------------------------------------ data
    def add_episode(self, steps: dict[str, np.ndarray], success: bool) -> None:
        """Store one practice episode; it earns `utd` updates per step once warm-up is over."""
        self.replay.add_episode(steps, success)
        t, warm = len(steps["action"]), self.warming_up
        self.episodes += 1
        self.env_steps += t
        if not warm:  # the first warmup_episodes earn no updates
            self.pending += t * self.cfg.utd

    @property
    def warming_up(self) -> bool:
        return self.episodes < self.cfg.warmup_episodes

    def train_pending(self, limit: int | None = None) -> list[dict[str, float]]:
        """Run the updates earned so far (at most `limit`); returns their metrics."""
        out = []
        while self.pending >= 1 and (limit is None or len(out) < limit):
            out.append(self.update())
            self.pending -= 1
        return out

    # ------------------------------------------------------------------ updates
    def update(self) -> dict[str, float]:
        """One BC step of the policy on a mixed batch, and one TD step of the critic."""
        self.policy.train()
        batch = batch_to_torch(self.replay.policy_batches.sample())
        loss = self.policy.loss(batch, self.generator)
        for group in self.opt.param_groups:
            group["lr"] = self.lr_at(self.step)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if not self.cfg.lr_cycle:
            self.ema.update(self.policy)
        elif (self.step + 1) % self.cfg.lr_cycle == 0:  # annealed: the acting policy takes these weights
            self.ema.model.load_state_dict(self.policy.state_dict())
        metrics = {"bc_loss": loss.item()}
        if self.critic is not None:
            metrics |= self.critic_update()
        self.step += 1
        return metrics

    def lr_at(self, step: int) -> float:
        """Policy learning rate of update `step`: warm-up, then constant or cosine to 0 per cycle."""
        cfg = self.cfg
        k = step % cfg.lr_cycle if cfg.lr_cycle else step
        warm = min(1.0, (k + 1) / max(cfg.lr_warmup, 1))
        return cfg.lr * warm * (0.5 * (1 + math.cos(math.pi * k / cfg.lr_cycle)) if cfg.lr_cycle else 1.0)

    def critic_update(self) -> dict[str, float]:
        batch = batch_to_torch(self.replay.critic_batches.sample())
        loss, metrics = critic_loss(self.critic, self.critic_target, batch, self.next_chunk(batch),
                                    self.generator)
        self.critic_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_opt.step()
        polyak(self.critic_target, self.critic, self.cfg.critic.tau)
        self.critic_steps += 1
        return metrics

    def pretrain_critic(self, steps: int | None = None) -> dict[str, float]:
        """Critic-only TD steps on what the replay holds (offline data before practice)."""
        metrics: dict[str, float] = {}
        for _ in range(self.cfg.critic_pretrain_steps if steps is None else steps):
            metrics = self.critic_update()
        return metrics

    def next_chunk(self, batch: dict) -> torch.Tensor:
        """a' (B, h, A) normalized at t+h: the executed next chunk (data), or an EMA-policy sample."""
        c = self.cfg.critic
        if c.target_action == "policy":
            chunk = self.ema.model.sample(batch["next_obs"], 1, steps=c.target_policy_steps,
                                          generator=self.generator)
            return chunk[:, 0, :c.horizon]
        t, ep = batch["anchor"].numpy(), batch["episode"].numpy()
        online = batch["source"].numpy() == SOURCE_ONLINE
        out = np.empty((len(t), c.horizon, batch["action"].shape[-1]), np.float32)
        for mask, data in ((~online, self.replay.offline), (online, self.replay.online)):
            if mask.any():
                first, last = data.episode_starts[ep[mask]], data.episode_ends[ep[mask]] - 1
                steps = t[mask, None] + c.horizon + np.arange(c.horizon)
                out[mask] = gather_steps(data.data, ["action"], steps, first, last)[0]["action"]
        return self.normalizer.normalize("action", torch.from_numpy(out))

    # ------------------------------------------------------------------ acting
    def actor_modules(self) -> dict[str, torch.nn.Module]:
        """What an actor needs: the EMA policy and (with a critic) the critic."""
        mods: dict[str, torch.nn.Module] = {"policy": self.ema.model}
        if self.critic is not None:
            mods["critic"] = self.critic
        return mods

    def actor(self, seed: int = 0):
        """A QChunkPolicy acting with this learner's own modules (one process)."""
        from robot_rl.rl.actor import QChunkPolicy

        return QChunkPolicy(self.ema.model, self.critic, self.cfg.n_samples, seed, name=self.cfg.algo)
