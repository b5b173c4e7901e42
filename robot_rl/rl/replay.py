"""Replay for online fine-tuning: the offline demos plus the episodes the robot collects (DESIGN §5).

Three in-memory buffers (EpisodeData) with the same keys (the policy's observation keys, action, reward,
terminal, intervention):
- `offline`: the demonstrations; every step is a BC target and a TD sample.
- `online`: every practice episode; TD samples for the critic.
- `good`: BC targets gathered online: whole successful episodes (unless `imitate_successes` is off), and
  the steps a human took over (contiguous runs of `intervention`, each its own short episode).
Critic batches mix offline/online TD samples with `online_fraction` (RLPD's symmetric sampling); policy
batches mix offline/good windows with `bc_online_fraction` (None: in proportion to their sizes, so the first
few successes do not make up half of every BC batch); while an online buffer is empty the batch is all
offline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from robot_rl.data.episodes import EpisodeData
from robot_rl.data.samplers import MixedSampler, WindowConfig, WindowSampler
from robot_rl.data.td_sampler import ChunkTDSampler, TDConfig

STEP_KEYS = ("action", "reward", "terminal", "intervention")
"""Keys besides the observations that every buffer holds."""


def intervention_runs(flags: np.ndarray) -> list[slice]:
    """Contiguous runs of True in a (T,) flag array, as slices."""
    f = np.concatenate([[False], np.asarray(flags, dtype=bool).reshape(-1), [False]])
    edges = np.flatnonzero(np.diff(f.astype(np.int8)))
    return [slice(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def bc_segments(steps: Mapping[str, np.ndarray], success: bool,
                imitate_successes: bool = True) -> list[dict[str, np.ndarray]]:
    """The parts of an online episode that become BC targets: all of it when it succeeded (and
    `imitate_successes`), else each run of intervention steps (a human's corrections are demonstrations
    even when the episode failed)."""
    if success and imitate_successes:
        return [dict(steps)]
    return [{k: v[s] for k, v in steps.items()} for s in intervention_runs(steps["intervention"])]


class Replay:
    """Offline + online buffers and their mixed samplers (see the module docstring)."""

    def __init__(self, offline: EpisodeData, obs_keys: Sequence[str], n_obs: int, horizon: int,
                 td_horizon: int, gamma: float, online_fraction: float, batch_size: int,
                 critic_batch_size: int, seed: int = 0, bc_online_fraction: float | None = None,
                 imitate_successes: bool = True) -> None:
        self.imitate_successes = imitate_successes
        self.keys = (*obs_keys, *STEP_KEYS)
        self.offline = conform(offline, self.keys)
        self.online = self.offline.empty_like()
        self.good = self.offline.empty_like()
        self.obs_keys = tuple(obs_keys)
        state_keys = tuple(k for k in obs_keys if k.startswith("state/"))
        win = WindowConfig(n_obs, horizon, self.obs_keys, "action", batch_size, seed)
        td = TDConfig(td_horizon, gamma, n_obs, state_keys, batch_size=critic_batch_size, seed=seed + 1)
        self.policy_batches = MixedSampler(WindowSampler(self.offline, win),
                                           WindowSampler(self.good, _reseed(win, 2)), bc_online_fraction)
        self.critic_batches = MixedSampler(ChunkTDSampler(self.offline, td),
                                           ChunkTDSampler(self.online, _reseed(td, 3)), online_fraction)

    def add_episode(self, steps: Mapping[str, np.ndarray], success: bool) -> None:
        """Append one practice episode ({key: (T, ...)}; extra keys are ignored, a missing `intervention`
        means none)."""
        ep = select_keys(steps, self.keys)
        self.online.add_episode(ep)
        for seg in bc_segments(ep, success, self.imitate_successes):
            self.good.add_episode(seg)

    @property
    def samplers(self) -> dict[str, object]:
        """Every sampler whose RNG state a checkpoint keeps."""
        out = {}
        for name, mixed in (("policy", self.policy_batches), ("critic", self.critic_batches)):
            out[f"{name}_offline"], out[f"{name}_online"] = mixed.offline, mixed.online
        return out

    # ------------------------------------------------------------------ checkpoints
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The online buffers as flat arrays (`online/<key>`, `online/episode_ends`, same for `good/`)."""
        out = {}
        for name, buf in (("online", self.online), ("good", self.good)):
            out |= {f"{name}/{k}": np.ascontiguousarray(v) for k, v in buf.data.items()}
            out[f"{name}/episode_ends"] = buf.episode_ends.copy()
        return out

    def load_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Refill the (empty) online buffers from `to_arrays` output."""
        for name, buf in (("online", self.online), ("good", self.good)):
            ends = np.asarray(arrays[f"{name}/episode_ends"], dtype=np.int64)
            starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)[:len(ends)]
            for a, b in zip(starts, ends, strict=True):
                buf.add_episode({k: np.asarray(arrays[f"{name}/{k}"])[a:b] for k in self.keys})


def select_keys(steps: Mapping[str, np.ndarray], keys: Sequence[str]) -> dict[str, np.ndarray]:
    """`steps` restricted to `keys`; a missing `intervention` key becomes all False."""
    n = len(steps["action"])
    out = {}
    for k in keys:
        if k in steps:
            out[k] = np.asarray(steps[k])
        elif k == "intervention":
            out[k] = np.zeros(n, dtype=bool)
        else:
            raise KeyError(f"episode lacks key {k!r}; it has {sorted(steps)}")
    return out


def conform(data: EpisodeData, keys: Sequence[str]) -> EpisodeData:
    """An EpisodeData with exactly `keys` (demos gain an all-False `intervention`)."""
    arrays = select_keys(data.data, keys)
    arrays["intervention"] = arrays["intervention"].astype(bool)
    return EpisodeData(arrays, data.episode_ends)


def _reseed(cfg, offset: int):
    import dataclasses

    return dataclasses.replace(cfg, seed=cfg.seed + offset)
