"""The small interfaces the episode runner drives, and their stock implementations.

- `ChunkPolicy`: `reset()` at each episode start; `__call__(obs) -> (H, A)` normalised actions in [-1, 1];
  policies with an observation window also take every step's observation through `observe(obs)`
  (callers use `observe(policy, obs)`, which skips policies without one).
- `RewardSource`: `reset()`; `__call__(obs, info) -> (reward, success)`. `MirrorReward` reads the mirror's
  privileged predicate (`info["success"]`); `ModelReward` adapts a success classifier / VLM reward
  (robot_rl.rewards: `reset()`, `__call__(obs) -> (probability, flag)`, hysteresis inside).
- `ExpertChunkPolicy`: the task's scripted expert (with noise) as a chunk policy, until a learned one
  exists; `CheckpointChunkPolicy`: a trained diffusion chunk policy (`robot-rl train` checkpoint).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from robot_rl.env import rotations as rot


class ChunkPolicy(Protocol):
    name: str

    def reset(self) -> None: ...

    def __call__(self, obs: Mapping[str, np.ndarray]) -> np.ndarray: ...


def observe(policy: Any, obs: Mapping[str, np.ndarray]) -> None:
    """Hand a step's observation to `policy` if it keeps an observation window."""
    fn = getattr(policy, "observe", None)
    if fn is not None:
        fn(obs)


class ObsWindow:
    """The last `n` observations, one per control step, as the policy was trained on them (the samplers'
    windows are consecutive steps; the first observation is repeated at an episode start, like their
    padding). Feeding only the observation at each re-plan instead — steps 8 apart — took a policy from
    77% to 40% success."""

    def __init__(self, n: int) -> None:
        self.items: deque[Mapping[str, np.ndarray]] = deque(maxlen=n)

    def clear(self) -> None:
        self.items.clear()

    def push(self, obs: Mapping[str, np.ndarray]) -> None:
        """Add `obs` unless it is the object pushed last (a re-plan on the step just observed)."""
        if not self.items:
            self.items.extend([obs] * self.items.maxlen)
        elif obs is not self.items[-1]:
            self.items.append(obs)

    def tensors(self, keys: Any) -> dict[str, Any]:
        """{key: (1, n, ...) torch tensor}."""
        import torch

        return {k: torch.from_numpy(np.stack([np.asarray(o[k]) for o in self.items]))[None] for k in keys}


class RewardSource(Protocol):
    def reset(self) -> None: ...

    def __call__(self, obs: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> tuple[float, bool]: ...


class MirrorReward:
    """Sparse reward from the mirror's success predicate: 1.0 on steps where it holds."""

    name = "mirror_predicate"

    def reset(self) -> None:
        pass

    def __call__(self, obs: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> tuple[float, bool]:
        success = bool(info["success"])
        return float(success), success


class ModelReward:
    """A learned reward (`model(obs) -> (probability, flag)`): reward 1.0 when its (debounced) flag is up."""

    name = "model"

    def __init__(self, model: Any) -> None:
        self.model = model
        self.last_probability = 0.0

    def reset(self) -> None:
        self.model.reset()

    def __call__(self, obs: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> tuple[float, bool]:
        prob, flag = self.model(obs)
        self.last_probability = float(prob)
        return float(bool(flag)), bool(flag)


class AuditedReward:
    """The classifier's reward exactly as the learner gets it (`ModelReward`), plus, per episode, the
    probability and the mirror's privileged predicate at every scored frame (for the report only)."""

    name = "classifier"

    def __init__(self, model: Any) -> None:
        self.inner = ModelReward(model)
        self.model = model
        self.episodes: list[tuple[list[float], list[bool]]] = []

    def reset(self) -> None:
        self.inner.reset()
        self.episodes.append(([], []))

    def __call__(self, obs: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> tuple[float, bool]:
        reward, success = self.inner(obs, info)
        probs, truth = self.episodes[-1]
        probs.append(self.inner.last_probability)
        truth.append(bool(info["success"]))
        return reward, success

    def metrics(self) -> dict[str, Any]:
        """Per-frame precision/recall (after hysteresis) and what each episode's first flag was worth, on
        the frames the learner was rewarded on (`robot_rl.rewards.evaluate.metrics`)."""
        from robot_rl.rewards.dataset import Frames
        from robot_rl.rewards.evaluate import metrics

        eps = [e for e in self.episodes if e[0]]
        probs = np.concatenate([e[0] for e in eps]) if eps else np.zeros(0)
        labels = np.concatenate([e[1] for e in eps]).astype(np.int8) if eps else np.zeros(0, np.int8)
        ends = np.cumsum([len(e[0]) for e in eps]).astype(np.int64)
        frames = Frames({}, labels, ends, np.arange(len(eps)))
        return metrics(probs, frames, self.model.threshold, self.model.k)

    def predicate_success(self) -> list[bool]:
        """Per practice episode: did the mirror's predicate hold on any scored frame."""
        return [any(truth) for probs, truth in self.episodes if probs]


class ExpertChunkPolicy:
    """The task's scripted expert on the observation's `state/*` keys (privileged keys included), planned
    open-loop over `horizon` steps: between actions the TCP is predicted to move exactly as commanded
    (objects and gripper as last observed), so the chunk is what the expert would do if tracking were
    perfect. `noise`: std of Gaussian noise on each normalised action."""

    def __init__(self, task: Any, noise: float = 0.0, horizon: int = 8, seed: int = 0) -> None:
        self.task, self.noise, self.horizon = task, noise, horizon
        self.rng = np.random.default_rng(seed)
        self.name = f"expert(noise={noise})"
        self.expert = task.expert(noise, self.rng)

    def reset(self) -> None:
        self.expert.reset()

    def __call__(self, obs: Mapping[str, np.ndarray]) -> np.ndarray:
        cfg = self.task.config
        s = {k.split("/", 1)[1]: np.asarray(v, dtype=float) for k, v in obs.items() if k.startswith("state/")}
        chunk = np.empty((self.horizon, 7), np.float32)
        for i in range(self.horizon):
            a = chunk[i] = self.expert.act(s)
            s = s | {"ee_pos": s["ee_pos"] + a[:3] * cfg.pos_scale,
                     "ee_quat": rot.multiply(rot.from_rotvec(a[3:6] * cfg.rot_scale), s["ee_quat"])}
        return chunk


class CheckpointChunkPolicy:
    """A trained diffusion chunk policy: keeps the last n_obs observations (`ObsWindow`) and samples one
    (H, A) chunk per call."""

    def __init__(self, path: str | Path, seed: int = 0) -> None:
        import torch

        from robot_rl.rl.offline import load_policy

        self.policy = load_policy(path)
        self.generator = torch.Generator().manual_seed(seed)
        self.history = ObsWindow(self.policy.cfg.n_obs)
        self.name = f"checkpoint({path})"

    def reset(self) -> None:
        self.history.clear()

    def observe(self, obs: Mapping[str, np.ndarray]) -> None:
        self.history.push(obs)

    def __call__(self, obs: Mapping[str, np.ndarray]) -> np.ndarray:
        self.history.push(obs)
        window = self.history.tensors(self.policy.obs_keys)
        return self.policy.act(window, generator=self.generator)[0].numpy()
