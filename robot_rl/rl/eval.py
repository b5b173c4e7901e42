"""Closed-loop evaluation of a chunk policy in any gymnasium environment: success rate with a Wilson
95% interval, episode lengths, a few videos.

Receding horizon: at each re-plan the runner samples one chunk of H actions from the last n_obs
observations and executes the first n_action_steps (config), one control step each. At the start of an
episode the history repeats the first observation, matching the samplers' edge padding.

Success of an episode: the last step's `info["success"]` (RobotEnv), else `info["is_success"]`
(gymnasium-robotics convention), else "terminated and not truncated".
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import deque
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from robot_rl.policies.policy import DiffusionChunkPolicy


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval (default 95%) for a binomial proportion; (0, 1) when n = 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


class ObsAdapter:
    """Environment observation -> {key: array} with the data's keys. Dict observations pass through
    (keys must match the store's); a Box observation becomes {box_key: obs}."""

    def __init__(self, space: gym.Space, box_key: str = "state/obs") -> None:
        if isinstance(space, gym.spaces.Dict):
            self.box_key = None
        elif isinstance(space, gym.spaces.Box):
            self.box_key = box_key
        else:
            raise TypeError(f"observation space {space} is neither Box nor Dict")

    def __call__(self, obs: Any) -> dict[str, np.ndarray]:
        return {self.box_key: np.asarray(obs)} if self.box_key else {k: np.asarray(v) for k, v in obs.items()}


class ChunkRunner:
    """Keeps the observation history and the queue of planned actions for one environment."""

    def __init__(self, policy: DiffusionChunkPolicy, generator: torch.Generator | None = None,
                 compiled: bool = False) -> None:
        """`compiled`: plan with the torch.compile'd DDIM sampler (faster per chunk; compiles on first
        use)."""
        self.policy, self.generator = policy, generator
        self.fast = policy.compiled_sampler() if compiled else None
        self.history: deque[dict[str, np.ndarray]] = deque(maxlen=policy.cfg.n_obs)
        self.queue: deque[np.ndarray] = deque()
        self.plan_times: list[float] = []

    def reset(self, obs: dict[str, np.ndarray]) -> None:
        self.history.clear()
        self.history.extend([obs] * self.policy.cfg.n_obs)
        self.queue.clear()

    def act(self, obs: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Next action (A,) in the action's units; `obs` is the observation the action responds to."""
        if obs is not None:
            self.history.append(obs)
        if not self.queue:
            window = {k: torch.from_numpy(np.stack([o[k] for o in self.history]))[None]
                      for k in self.policy.obs_keys}
            start = time.perf_counter()
            if self.fast is not None:
                cfg = self.policy.cfg
                noise = torch.randn(1, 1, cfg.horizon, self.policy.action_dim, generator=self.generator)
                normed = self.fast(window, noise)[0, 0].clamp(-1, 1)
                chunk = self.policy.normalizer.unnormalize(cfg.action_key, normed).numpy()
            else:
                chunk = self.policy.act(window, generator=self.generator)[0].numpy()
            self.plan_times.append(time.perf_counter() - start)
            self.queue.extend(chunk[:self.policy.cfg.n_action_steps])
        return self.queue.popleft()


@dataclasses.dataclass
class EvalResult:
    episodes: int
    successes: int
    success_rate: float
    ci95: tuple[float, float]
    mean_length: float
    lengths: list[int]
    plan_ms_p50: float
    seconds: float
    videos: list[str]

    def summary(self) -> str:
        lo, hi = self.ci95
        return (f"success {self.successes}/{self.episodes} = {self.success_rate:.1%} "
                f"(95% CI {lo:.1%}-{hi:.1%}), "
                f"mean length {self.mean_length:.1f} steps, {self.seconds:.1f} s")


def episode_success(info: dict[str, Any], terminated: bool, truncated: bool) -> bool:
    if "success" in info:
        return bool(info["success"])
    if "is_success" in info:
        return bool(info["is_success"])
    return bool(terminated and not truncated)


def evaluate(policy: DiffusionChunkPolicy, env: gym.Env, episodes: int, seed: int = 1000,
             video_dir: Path | None = None, n_videos: int = 0, box_key: str = "state/obs",
             max_steps: int = 10_000, compiled: bool = False) -> EvalResult:
    """Run `episodes` episodes (episode k reset with seed + k); videos of the first `n_videos` need
    env.render() to return RGB frames. `compiled`: see ChunkRunner."""
    adapter = ObsAdapter(env.observation_space, box_key)
    runner = ChunkRunner(policy, torch.Generator().manual_seed(seed), compiled)
    successes, lengths, videos = 0, [], []
    start = time.perf_counter()
    for k in range(episodes):
        obs, info = env.reset(seed=seed + k)
        runner.reset(adapter(obs))
        frames = [env.render()] if k < n_videos and video_dir else None
        terminated = truncated = False
        steps = 0
        while not (terminated or truncated) and steps < max_steps:
            obs, _, terminated, truncated, info = env.step(runner.act())
            runner.history.append(adapter(obs))
            steps += 1
            if frames is not None:
                frames.append(env.render())
        successes += episode_success(info, terminated, truncated)
        lengths.append(steps)
        if frames is not None and frames[0] is not None:
            videos.append(str(write_video(Path(video_dir) / f"episode_{k:03d}.mp4", frames,
                                          env.metadata.get("render_fps", 10))))
    lo, hi = wilson_interval(successes, episodes)
    return EvalResult(episodes, successes, successes / max(episodes, 1), (lo, hi),
                      float(np.mean(lengths)) if lengths else 0.0, lengths,
                      float(np.median(runner.plan_times) * 1000) if runner.plan_times else 0.0,
                      time.perf_counter() - start, videos)


def write_video(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    import imageio.v3 as iio

    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.stack(frames), fps=fps)
    return path
