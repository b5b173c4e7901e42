"""ChunkCritic: an ensemble of Q(s_t, a_{t:t+h}) MLPs over the flattened action chunk (Q-chunking).

Members are evaluated together with batched matmuls over stacked weights (E, in, out); every hidden
layer is Linear → LayerNorm (per-member affine) → ReLU. Observation features are the normalized state
keys of the window, flattened: (B, n_obs * D). Chunks are normalized actions (B, h, A) in [-1, 1].

TD target (chunked, h steps; ChunkTDSampler conventions):
    y = reward_sum + discount * (1 - terminal) * aggregate_E(Q_target(s_{t+h}, a'_{t+h:t+2h}))
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from robot_rl.data.normalizer import Normalizer


@dataclasses.dataclass(frozen=True)
class CriticConfig:
    """Action-chunked Q ensemble and its offline TD training."""

    horizon: int = 5
    """Chunk length h the critic scores (the first h actions of a policy chunk)."""
    gamma: float = 0.99
    """Per-step discount."""
    hidden: tuple[int, ...] = (256, 256, 256)
    """Hidden widths of each member (notes: 4 x 512; smaller for CPU)."""
    ensemble_size: int = 2
    """Members E (QC: 2; RLPD/WSRL: 10)."""
    aggregate: Literal["min", "mean"] = "min"
    """How targets combine members: min over a random subset, or the mean."""
    subset_size: int = 2
    """Members in the random subset the min runs over (RLPD: 2 of 10)."""
    lr: float = 3e-4
    """AdamW learning rate."""
    tau: float = 0.005
    """Polyak rate of the target network."""
    batch_size: int = 256
    """TD samples per update."""
    target_action: Literal["data", "policy"] = "data"
    """a' for the bootstrap: the dataset's next chunk (SARSA, evaluates the demonstrator) or a chunk
    sampled from the policy's EMA weights (evaluates the policy; costs a DDIM sample per update)."""
    target_policy_steps: int = 4
    """DDIM steps when target_action = "policy"."""
    value_range: tuple[float, float] | None = (0.0, 1.0)
    """Bounds of the TD target (None: unbounded). With the sparse success reward (1 on the terminal
    success step, else 0) every return lies in [0, 1]; unbounded min-of-2 targets compound their
    pessimism on failed episodes' states, which never reach a terminal (online Q fell to -0.8)."""


class EnsembleLinear(nn.Module):
    """E independent Linear layers: (E, B, in) -> (E, B, out)."""

    def __init__(self, e: int, d_in: int, d_out: int) -> None:
        super().__init__()
        bound = 1 / math.sqrt(d_in)
        self.weight = nn.Parameter(torch.empty(e, d_in, d_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(e, 1, d_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleLayerNorm(nn.Module):
    """LayerNorm over the last axis with a separate affine per member: (E, B, d)."""

    def __init__(self, e: int, d: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(e, 1, d))
        self.bias = nn.Parameter(torch.zeros(e, 1, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.bias, F.layer_norm(x, x.shape[-1:]), self.weight)


class ChunkCritic(nn.Module):
    """Q ensemble. `shapes`: per-step shapes of the state keys it reads and of the action key;
    `normalizer` covers them all (the policy's normalizer)."""

    def __init__(self, cfg: CriticConfig, shapes: dict[str, tuple[int, ...]], normalizer: Normalizer,
                 n_obs: int = 1, action_key: str = "action") -> None:
        super().__init__()
        images = [k for k in shapes if k.startswith(("image/", "depth/"))]
        if images:
            raise ValueError(f"ChunkCritic reads state keys only; got image keys {images}")
        if cfg.aggregate == "min" and not 1 <= cfg.subset_size <= cfg.ensemble_size:
            raise ValueError(f"subset_size must be in [1, ensemble_size={cfg.ensemble_size}]")
        self.cfg, self.normalizer, self.n_obs, self.action_key = cfg, normalizer, n_obs, action_key
        self.shapes = {k: tuple(v) for k, v in shapes.items()}
        self.state_keys = sorted(k for k in self.shapes if k != action_key)
        self.action_dim = math.prod(self.shapes[action_key])
        self.obs_dim = n_obs * sum(math.prod(self.shapes[k]) for k in self.state_keys)
        dims = [self.obs_dim + cfg.horizon * self.action_dim, *cfg.hidden]
        e = cfg.ensemble_size
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [EnsembleLinear(e, a, b), EnsembleLayerNorm(e, b), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = EnsembleLinear(e, dims[-1], 1)

    def features(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Observation window {key: (B, n_obs, *shape)} in its units -> (B, obs_dim) normalized features."""
        b = obs[self.state_keys[0]].shape[0]
        return torch.cat([self.normalizer.normalize(k, obs[k].float()).reshape(b, -1)
                          for k in self.state_keys], dim=-1)

    def q(self, obs_feat: torch.Tensor, chunk: torch.Tensor) -> torch.Tensor:
        """obs_feat (B, obs_dim), chunk (B, h, A) normalized -> Q (E, B)."""
        if chunk.shape[1:] != (self.cfg.horizon, self.action_dim):
            raise ValueError(f"chunk must be (B, {self.cfg.horizon}, {self.action_dim}), "
                             f"got {tuple(chunk.shape)}")
        x = torch.cat([obs_feat, chunk.flatten(1)], dim=-1)
        x = x.unsqueeze(0).expand(self.cfg.ensemble_size, *x.shape)
        return self.head(self.body(x)).squeeze(-1)

    def forward(self, obs: dict[str, torch.Tensor], chunk: torch.Tensor) -> torch.Tensor:
        return self.q(self.features(obs), chunk)

    def aggregate(self, q: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """(E, B) -> (B,): min over a random subset of `subset_size` members, or the mean."""
        if self.cfg.aggregate == "mean":
            return q.mean(0)
        pick = torch.randperm(q.shape[0], generator=generator)[:self.cfg.subset_size]
        return q[pick].min(0).values


def td_target(reward_sum: torch.Tensor, discount: torch.Tensor, terminal: torch.Tensor,
              next_q: torch.Tensor) -> torch.Tensor:
    """Chunked h-step target (B,): reward_sum + discount * (1 - terminal) * next_q (all (B,))."""
    return reward_sum + discount * (1 - terminal) * next_q


def critic_loss(critic: ChunkCritic, target: ChunkCritic, batch: dict, next_chunk: torch.Tensor,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """TD loss on a ChunkTDSampler batch (torch) given a' = `next_chunk` (B, h, A) normalized.

    Returns (loss summed over members, metrics). Actions in the batch are normalized here.
    """
    h = critic.cfg.horizon
    chunk = critic.normalizer.normalize(critic.action_key, batch["action"][:, :h].float())
    with torch.no_grad():
        next_q = critic.aggregate(target(batch["next_obs"], next_chunk), generator)
        y = td_target(batch["reward_sum"], batch["discount"], batch["terminal"], next_q)
        if critic.cfg.value_range is not None:
            y = y.clamp(*critic.cfg.value_range)
    q = critic(batch["obs"], chunk)
    loss = F.mse_loss(q, y.expand_as(q), reduction="none").mean(1).sum()
    return loss, {"critic_loss": loss.item() / q.shape[0], "q_mean": q.mean().item()}


@torch.no_grad()
def polyak(target: nn.Module, source: nn.Module, tau: float) -> None:
    """target <- (1 - tau) target + tau source."""
    for tp, sp in zip(target.parameters(), source.parameters(), strict=True):
        tp.lerp_(sp, tau)
