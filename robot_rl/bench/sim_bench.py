"""`robot-rl bench sim`: MuJoCo mirror throughput, RobotEnv steps per second (10 Hz control steps of
50 physics steps each, controller at every physics step), state-only and with two 128x128 cameras.

Each measurement resets the env, then times `steps` env steps driven by the task's scripted expert
(so contacts and grasps are included), resetting whenever an episode ends. Reset time is included.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.bench.common import write_json
from robot_rl.tasks.registry import TASKS


def measure(task: str, images: bool, steps: int, size: int = 128, seed: int = 0) -> float:
    """Env steps per wall-clock second for `steps` expert-driven steps of `task`."""
    from robot_rl.env.robot_env import RobotEnv

    env = RobotEnv(task, images=images, image_size=(size, size))
    obs, info = env.reset(seed=seed)
    expert = env.task.expert(0.0, np.random.default_rng(seed))
    start = time.perf_counter()
    for _ in range(steps):
        obs, _, terminated, truncated, info = env.step(expert.act(info["state"]))
        if terminated or truncated:
            seed += 1
            obs, info = env.reset(seed=seed)
            expert = env.task.expert(0.0, np.random.default_rng(seed))
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def run_sim_bench(json_path: str | Path, steps: int = 300, image_steps: int = 100,
                  tasks: tuple[str, ...] = tuple(TASKS)) -> dict[str, Any]:
    """Measure every task state-only and with two 128x128 cameras; write JSON to `json_path`."""
    per_task = {}
    for task in tasks:
        per_task[task] = {"state_only": measure(task, False, steps),
                          "two_cameras_128": measure(task, True, image_steps)}
        print(f"{task}: {per_task[task]['state_only']:.0f} env steps/s state-only, "
              f"{per_task[task]['two_cameras_128']:.0f} with two 128x128 cameras")
    results = {
        "env_steps_per_s": float(np.mean([v["state_only"] for v in per_task.values()])),
        "env_steps_per_s_two_cameras_128": float(np.mean([v["two_cameras_128"] for v in per_task.values()])),
        "control_hz": 10.0,
        "physics_hz": 500.0,
        "per_task": per_task,
    }
    return write_json(json_path, "sim", results)
