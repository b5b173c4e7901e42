"""Scripted resets: the task's `ResetScript` (tasks/<name>/reset.py) drives the arm action by action
through `env.step` — the same normalised-action path as the policy, behind the same safety layer — until
it reports done or runs out of steps. It never sets the simulator state."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from robot_rl.resets.base import ResetResult, home_pose

StepHook = Callable[[dict, np.ndarray, dict], None]
"""Called with (observation before, the script's action, info after) for every reset step (e.g. to record
reverse demonstrations for a backward policy); with `ScriptedConfig.noise` the executed action differs."""


@dataclasses.dataclass(frozen=True)
class ScriptedConfig:
    """Limits of one scripted reset attempt."""

    max_steps: int = 300
    """Control steps before the attempt is abandoned (30 s at 10 Hz)."""
    noise: float = 0.0
    """Std of Gaussian noise added to the executed motion (the first six normalised action dims), while
    `on_step` receives the script's own action: recorded as reverse demonstrations, the states then
    stray from the script's path and the labels show how to get back (DART, Laskey et al. 2017)."""


class ScriptedReset:
    name = "scripted"

    def __init__(self, config: ScriptedConfig = ScriptedConfig(), on_step: StepHook | None = None) -> None:
        self.config, self.on_step = config, on_step

    def __call__(self, env: Any, rng: np.random.Generator) -> ResetResult:
        start = time.perf_counter()
        script = env.task.reset_script(home_pose(env), rng)
        state = env.full_state()
        obs = env.observe() if self.on_step is not None else None
        steps = 0
        while steps < self.config.max_steps:
            action = script.act(state)
            if script.done or script.failed:
                break
            next_obs, _, _, _, info = env.step(self.perturb(action, rng))
            if self.on_step is not None:
                self.on_step(obs, action, info)
            obs, state, steps = next_obs, info["state"], steps + 1
        message = "done" if script.done else script.failed or f"step limit in phase {script.phase}"
        return ResetResult(script.done, self.name, steps, time.perf_counter() - start, message)

    def perturb(self, action: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The executed action: `action` with `config.noise` on its motion dims, clipped to [-1, 1]."""
        if self.config.noise <= 0:
            return action
        noisy = np.array(action, np.float32)
        noisy[:6] += rng.normal(0.0, self.config.noise, 6)
        return np.clip(noisy, -1.0, 1.0)
