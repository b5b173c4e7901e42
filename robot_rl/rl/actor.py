"""The fine-tuning actor: a `ChunkPolicy` that samples N chunks from the diffusion policy and executes
the one the chunked critic scores highest (Q-chunking's best-of-N; DESIGN §5). Q is never
backpropagated: the critic only ranks samples.

Without a critic (BC-only fine-tuning, or an actor that has not received critic weights yet) it
executes the first sample. The policy and critic may be the learner's own modules (one process) or
copies refreshed from weight snapshots (robot_rl/rl/blobs.py, over ROS 2).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from robot_rl.critics.chunk_critic import ChunkCritic
from robot_rl.policies.policy import DiffusionChunkPolicy
from robot_rl.rl.interfaces import ObsWindow


def best_of_n(critic: ChunkCritic, obs: dict[str, torch.Tensor],
              chunks: torch.Tensor) -> tuple[int, torch.Tensor]:
    """Index of the best of N normalized chunks (1, N, H, A) for one observation window (batch 1) by the
    ensemble-mean Q of their first h actions, and the N scores (N,)."""
    n = chunks.shape[1]
    h = critic.cfg.horizon
    feat = critic.features(obs).expand(n, -1)
    q = critic.q(feat, chunks[0, :, :h]).mean(0)
    return int(torch.argmax(q)), q


class QChunkPolicy:
    """Best-of-N chunk selection; keeps the last n_obs observations (`ObsWindow`: call `observe` with
    every step's observation). `last_q`: the chosen chunk's Q (nan without a critic)."""

    def __init__(self, policy: DiffusionChunkPolicy, critic: ChunkCritic | None = None, n_samples: int = 16,
                 seed: int = 0, name: str = "qc") -> None:
        self.policy, self.critic, self.n_samples, self.name = policy, critic, n_samples, name
        self.generator = torch.Generator().manual_seed(seed)
        self.history = ObsWindow(policy.cfg.n_obs)
        self.last_q = float("nan")
        self.q_values: list[float] = []
        self.spare_critic: ChunkCritic | None = None
        """A critic built but unused until a weight snapshot fills it (actor in another process)."""
        self.weights_step = -1
        """Learner step of the last snapshot loaded (-1: the starting weights)."""

    def modules(self) -> dict[str, torch.nn.Module]:
        """The networks a weight snapshot refreshes: {"policy", "critic" (when there is one)}."""
        critic = self.critic if self.critic is not None else self.spare_critic
        return {"policy": self.policy} | ({"critic": critic} if critic is not None else {})

    def load_snapshot(self, blob: bytes) -> int:
        """Validate and load a learner snapshot (robot_rl/rl/blobs.py); afterwards the critic ranks
        samples. Raises BlobError (and keeps the current weights) when it does not fit."""
        from robot_rl.rl.blobs import load_weights

        mods = self.modules()
        self.weights_step = load_weights(blob, mods)
        self.critic = mods.get("critic")
        return self.weights_step

    def reset(self) -> None:
        self.history.clear()

    def observe(self, obs: Mapping[str, np.ndarray]) -> None:
        self.history.push(obs)

    def window(self, obs: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
        self.history.push(obs)
        return self.history.tensors(self.policy.obs_keys)

    @torch.no_grad()
    def __call__(self, obs: Mapping[str, np.ndarray]) -> np.ndarray:
        """(H, A) chunk in the action's units."""
        window = self.window(obs)
        n = self.n_samples if self.critic is not None else 1
        was_training = self.policy.training
        self.policy.eval()
        chunks = self.policy.sample(window, n, generator=self.generator).clamp(-1, 1)
        self.policy.train(was_training)
        best = 0
        if self.critic is not None:
            best, q = best_of_n(self.critic, window, chunks)
            self.last_q = float(q[best])
            self.q_values.append(self.last_q)
        key = self.policy.cfg.action_key
        return self.policy.normalizer.unnormalize(key, chunks[0, best]).numpy()
