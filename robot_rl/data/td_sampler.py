"""Chunked-TD sampler: h-step samples for action-chunked critics (Q-chunking).

Storage convention: step i holds obs_i, action_i, reward_i (for taking action_i in obs_i) and
terminal_i (the state reached by action_i is terminal). For anchor t and chunk length h the sample
covers steps t .. t+h-1 of one episode [start, end):

    valid        (B, h)  1 for steps inside the episode up to and including the first terminal, else 0
    reward_sum   (B,)    sum_i valid_i * gamma^i * r_{t+i}
    terminal     (B,)    1 if a terminal occurred among the valid steps; bootstrap mask = 1 - terminal
    discount     (B,)    gamma^h (the bootstrap is masked whenever fewer than h steps are valid)
    next_obs     {key: (B, n_obs, *shape)}  observation window ending at step t+h
    action       (B, h, A)  steps t .. t+h-1; steps after the last valid one repeat it (edge padding)
    obs          {key: (B, n_obs, *shape)}  observation window ending at t, padded as in WindowSampler

Target: y = reward_sum + discount * (1 - terminal) * Q'(next_obs, a').

Anchors: a chunk containing a terminal is always a sample. A chunk whose next observation t+h lies
past the end of an episode without a terminal in [t, end) (a time limit, an operator stop) has nothing
to bootstrap from, so that anchor is excluded: with end = e, anchors e-h .. e-1 of a time-limited
episode are dropped, its steps e-h .. e-2 still appear as later parts of earlier chunks, and its last
step only as a next observation. When a terminal is not the last step of its episode, `next_obs` of a
terminal chunk is clamped into the episode; the bootstrap mask zeroes it anyway.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from robot_rl.data.episodes import EpisodeData
from robot_rl.data.samplers import (
    AnchorSampler,
    Batch,
    gather_steps,
    obs_window,
    resolve_obs_keys,
    step_bounds,
)


@dataclasses.dataclass(frozen=True)
class TDConfig:
    """Chunked h-step TD samples for a critic Q(s_t, a_{t:t+h})."""

    horizon: int = 5
    """Chunk length h: actions t .. t+h-1, rewards summed over them, bootstrap from step t+h."""
    gamma: float = 0.99
    """Per-step discount."""
    n_obs: int = 1
    """Observation steps per sample (history ending at t, and at t+h for next_obs)."""
    obs_keys: tuple[str, ...] = ()
    """Observation keys; empty = every key starting with state/, image/ or depth/."""
    action_key: str = "action"
    """Key of the (A,) action vector."""
    reward_key: str = "reward"
    """Key of the per-step reward, shape () or (1,)."""
    terminal_key: str = "terminal"
    """Key of the per-step terminal flag, shape () or (1,); "" = no terminals (every episode time-limited)."""
    batch_size: int = 256
    """Samples per `sample()` call."""
    seed: int = 0
    """Seed of the numpy Generator that draws anchors."""


class ChunkTDSampler(AnchorSampler):
    """Chunked-TD samples (see the module docstring for conventions and excluded anchors).

    Batch: obs, obs_is_pad, action (B, h, A), valid (B, h) float32, action_is_pad (B, h) bool (= not valid),
    reward_sum (B,) float32, terminal (B,) float32, discount (B,) float32, next_obs, next_obs_is_pad,
    anchor (B,) int64 global step of t, episode (B,) int64.
    """

    def __init__(self, data: EpisodeData, cfg: TDConfig = TDConfig()) -> None:
        if cfg.horizon < 1 or cfg.n_obs < 1:
            raise ValueError(f"horizon and n_obs must be >= 1, got {cfg.horizon}, {cfg.n_obs}")
        super().__init__(data, cfg.batch_size, cfg.seed)
        self.cfg = cfg
        self.obs_keys = resolve_obs_keys(data, cfg.obs_keys)
        for key in (cfg.action_key, cfg.reward_key, cfg.terminal_key or cfg.reward_key):
            if key not in data.keys:
                raise KeyError(f"key {key!r} not in the data; keys: {data.keys}")
        self._powers = (cfg.gamma ** np.arange(cfg.horizon)).astype(np.float32)

    def _scalar(self, key: str) -> np.ndarray:
        """A per-step scalar key as (n_steps,); accepts shape () or (1,)."""
        arr = self.data[key]
        if int(np.prod(arr.shape[1:])) != 1:
            raise ValueError(f"{key!r} must hold one value per step, has per-step shape {arr.shape[1:]}")
        return arr.reshape(len(arr))

    def _build_index(self) -> dict[str, np.ndarray]:
        n, h = self.data.n_steps, self.cfg.horizon
        first, last = step_bounds(self.data)
        steps = np.arange(n, dtype=np.int64)
        if self.cfg.terminal_key:
            term = self._scalar(self.cfg.terminal_key) != 0
        else:
            term = np.zeros(n, dtype=bool)
        # first terminal at or after each step: a reverse running minimum over terminal step indices,
        # no loop over episodes. It may find a terminal of a later episode (or n: none at all); both are
        # > last, which every use below reads as "no terminal in this episode".
        cand = np.where(term, steps, n)
        next_term = np.minimum.accumulate(cand[::-1])[::-1]
        keep = (steps + h <= last) | (next_term <= last)
        return {"anchor": steps[keep], "first": first[keep], "last": last[keep], "next_term": next_term[keep]}

    def _gather(self, index: dict[str, np.ndarray], pos: np.ndarray) -> Batch:
        cfg, arrays = self.cfg, self.data.data
        t, first, last = index["anchor"][pos], index["first"][pos], index["last"][pos]
        final = np.minimum(index["next_term"][pos], last)  # last valid step of the chunk's episode part
        steps = t[:, None] + np.arange(cfg.horizon)
        valid = steps <= final[:, None]
        act, _ = gather_steps(arrays, [cfg.action_key], steps, t, final)
        rew = self._scalar(cfg.reward_key)[np.minimum(steps, final[:, None])].astype(np.float32)
        terminal = (index["next_term"][pos] <= last) & (index["next_term"][pos] < t + cfg.horizon)
        obs, obs_pad = obs_window(arrays, self.obs_keys, t, first, last, cfg.n_obs)
        t_next = np.minimum(t + cfg.horizon, last)
        nxt, nxt_pad = obs_window(arrays, self.obs_keys, t_next, first, last, cfg.n_obs)
        b = len(t)
        return {
            "obs": obs, "obs_is_pad": obs_pad,
            "action": act[cfg.action_key], "valid": valid.astype(np.float32), "action_is_pad": ~valid,
            "reward_sum": (rew * valid * self._powers).sum(axis=1, dtype=np.float32),
            "terminal": terminal.astype(np.float32),
            "discount": np.full(b, cfg.gamma ** cfg.horizon, dtype=np.float32),
            "next_obs": nxt, "next_obs_is_pad": nxt_pad,
            "anchor": t, "episode": np.searchsorted(self.data.episode_ends, t, side="right"),
        }
