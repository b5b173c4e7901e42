"""Mirror episodes for reward learning: the scripted expert keeps going after success, and every frame
carries the privileged success predicate at that observation (`success` key).

Recorder demos end at the first success step, so none of their stored frames shows the finished task
(`reward[t]` is the predicate *after* action t). A reward classifier needs frames of the finished scene
and of near misses, as an operator's recording would hold them (the operator presses "success" once the
task is visibly done). Episode kinds:
- "demo":  the expert (action noise `noise`) until `hold_steps` after the first success, or the
  episode length;
- "stall": the expert until a random step in [`stall_min`, `stall_max`), then hold still (zero motion,
  last gripper command) to the episode length: near misses (grasped but not lifted, peg above the hole).
Rewards follow the recorder's convention; `success` is for evaluation against privileged success.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import numpy as np

from robot_rl.data.spec import KeySpec

SUCCESS_SPEC = KeySpec((), "bool", units="1",
                       description="privileged: task success predicate at the observation")
EpisodeKind = Literal["demo", "stall"]


@dataclasses.dataclass(frozen=True)
class CollectConfig:
    """What `collect_reward_episodes` records."""

    episodes: int = 20
    """Episodes to record."""
    kind: EpisodeKind = "demo"
    """"demo" (expert, continues `hold_steps` past success) or "stall" (expert stops midway: near misses)."""
    noise: float = 0.0
    """Std of Gaussian noise on the expert's normalised actions."""
    hold_steps: int = 20
    """"demo": steps recorded after the first success step."""
    stall_min: int = 5
    """"stall": earliest step at which the expert stops."""
    stall_max: int = 50
    """"stall": the expert stops before this step."""
    seed: int = 0
    """Seed of the first episode; episode k uses seed + k."""
    image_size: int = 64
    """Side of the square camera images, pixels."""


def collect_reward_episodes(task: str, store: Path, cfg: CollectConfig) -> dict[str, int]:
    """Append `cfg.episodes` episodes of `task` to `store` (created if missing). Returns counts."""
    from robot_rl.data.store import EpisodeStore
    from robot_rl.env.robot_env import RobotEnv
    from robot_rl.env.specs import episode_specs
    from robot_rl.tasks.registry import make_task

    base = make_task(task)
    env = RobotEnv(make_task(task, dataclasses.replace(base.config, terminate_on_success=False)),
                   images=True, image_size=(cfg.image_size, cfg.image_size))
    specs = episode_specs(env.observation_space) | {"success": SUCCESS_SPEC}
    attrs = {"task": task, "prompt": env.task.prompt(), "rig": "mujoco_mirror",
             "recorded_by": "robot-rl reward collect"}
    counts = {"episodes": 0, "successful": 0, "success_frames": 0, "frames": 0}
    with EpisodeStore.create(store, specs, attrs, exist_ok=True) as db:
        for k in range(cfg.episodes):
            n, n_pos, ok = _record(env, db, task, cfg, cfg.seed + k)
            counts["episodes"] += 1
            counts["successful"] += int(ok)
            counts["success_frames"] += n_pos
            counts["frames"] += n
    env.close()
    return counts


def _record(env, db, task: str, cfg: CollectConfig, seed: int) -> tuple[int, int, bool]:
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    expert = env.task.expert(cfg.noise, rng)
    stall_at = int(rng.integers(cfg.stall_min, cfg.stall_max)) if cfg.kind == "stall" else -1
    writer = db.begin_episode(source="demo", task=task, seed=seed, kind=cfg.kind, noise=cfg.noise,
                              rig="mujoco_mirror")
    first_success, n_pos, last = None, 0, np.zeros(7, np.float32)
    for t in range(env.task.config.episode_steps):
        now = bool(info["success"])
        n_pos += now
        if 0 <= stall_at <= t:
            action = np.concatenate([np.zeros(6), last[6:]]).astype(np.float32)
        else:
            action = expert.act(info["state"])
        last = action
        step_time = info["time"]
        next_obs, reward, _, _, info = env.step(action)
        writer.append(obs | {"action": action, "reward": np.float32(reward), "terminal": False,
                             "time": step_time, "success": now})
        obs = next_obs
        if reward > 0 and first_success is None:
            first_success = t
        if cfg.kind == "demo" and first_success is not None and t - first_success >= cfg.hold_steps:
            break
    ok = bool(info["success"])
    writer.commit(success=ok)
    return t + 1, n_pos, ok
