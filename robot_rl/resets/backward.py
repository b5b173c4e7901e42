"""Learned backward-policy reset: a chunk policy trained on demonstrations of the reverse task (e.g. the
scripted resets' own trajectories, robot_rl/resets/reverse_demos.py) drives the arm through `env.step`
until a verifier accepts the scene (and still does after a few settling steps) or the step budget runs
out. Alternated with the forward policy this gives reset-free practice (RoboFuME-style): the runner's reset
strategy is simply this object; robot_rl/resets/reset_free.py runs the forward/backward loop (the forward
policy learning online, robot_rl/resets/improve.py). A scene that already passes the check is left alone.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from robot_rl.resets.base import ResetResult, Verifier
from robot_rl.resets.scripted import StepHook
from robot_rl.rl.interfaces import observe


@dataclasses.dataclass(frozen=True)
class BackwardConfig:
    """Budget of one backward-policy attempt."""

    max_steps: int = 200
    """Control steps before the attempt is abandoned."""
    n_action_steps: int = 8
    """Actions of each chunk executed before re-planning."""
    settle_steps: int = 8
    """Once the start-state check passes, the policy keeps acting this many steps and the check must pass
    again: its reverse demos end holding still at the start state, so this lets it arrive there instead
    of being stopped on the check's tolerance border (measured on drawer_open: stopped at the first pass,
    the TCP was left 4-6 cm from home, the tolerance was then 6 cm, now `HOME_TOL`; forward demos start
    within ~2 cm)."""


class BackwardReset:
    name = "backward"

    def __init__(self, policy: Any, verifier: Verifier | None = None,
                 config: BackwardConfig = BackwardConfig(), on_step: StepHook | None = None) -> None:
        """`policy`: a ChunkPolicy (`reset()`, `__call__(obs) -> (H, A)`); `verifier`: checked after every
        chunk to stop early (default: the task's start-state predicate); `on_step`: called with
        (observation before, action, info after) for every step (e.g. to record the attempt)."""
        from robot_rl.resets.verify import PredicateVerifier

        self.policy, self.verifier, self.config = policy, verifier or PredicateVerifier(), config
        self.on_step = on_step

    def __call__(self, env: Any, rng: np.random.Generator) -> ResetResult:
        cfg, start, steps = self.config, time.perf_counter(), 0
        passed_at: int | None = None  # step at which the check started passing (None: not passing)
        if self.verifier(env).ok:  # nothing to undo (e.g. a forward policy that never moved away)
            return ResetResult(True, self.name, 0, time.perf_counter() - start, "already a start state")
        self.policy.reset()
        obs = env.observe()
        while steps < cfg.max_steps:
            if not self.verifier(env).ok:
                passed_at = None
            elif passed_at is None:
                passed_at = steps
            if passed_at is not None and steps - passed_at >= cfg.settle_steps:
                return ResetResult(True, self.name, steps, time.perf_counter() - start, "start state reached")
            n = cfg.n_action_steps if passed_at is None else cfg.settle_steps - (steps - passed_at)
            chunk = np.clip(np.asarray(self.policy(obs), np.float32), -1.0, 1.0)
            for action in chunk[:min(n, cfg.n_action_steps, cfg.max_steps - steps)]:
                next_obs, _, _, _, info = env.step(action)
                if self.on_step is not None:
                    self.on_step(obs, action, info)
                obs = next_obs
                observe(self.policy, obs)
                steps += 1
        ok = self.verifier(env).ok
        return ResetResult(ok, self.name, steps, time.perf_counter() - start, "done" if ok else "step limit")
