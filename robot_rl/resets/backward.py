"""Learned backward-policy reset: a chunk policy trained on demonstrations of the reverse task (e.g. the
scripted resets' own trajectories, recorded through `ScriptedReset(on_step=...)` with source "reset")
drives the arm through `env.step` until a verifier accepts the scene or the step budget runs out.
Alternated with the forward policy this gives reset-free practice (RoboFuME-style): the runner's reset
strategy is simply this object; robot_rl/resets/reset_free.py runs the forward/backward loop with
filtered-BC improvement of the forward policy and records the reverse demonstrations.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from robot_rl.resets.base import ResetResult, Verifier
from robot_rl.rl.interfaces import observe


@dataclasses.dataclass(frozen=True)
class BackwardConfig:
    """Budget of one backward-policy attempt."""

    max_steps: int = 200
    """Control steps before the attempt is abandoned."""
    n_action_steps: int = 8
    """Actions of each chunk executed before re-planning."""


class BackwardReset:
    name = "backward"

    def __init__(self, policy: Any, verifier: Verifier | None = None,
                 config: BackwardConfig = BackwardConfig()) -> None:
        """`policy`: a ChunkPolicy (`reset()`, `__call__(obs) -> (H, A)`); `verifier`: checked after every
        chunk to stop early (default: the task's start-state predicate)."""
        from robot_rl.resets.verify import PredicateVerifier

        self.policy, self.verifier, self.config = policy, verifier or PredicateVerifier(), config

    def __call__(self, env: Any, rng: np.random.Generator) -> ResetResult:
        start, steps = time.perf_counter(), 0
        self.policy.reset()
        obs = env.observe()
        while steps < self.config.max_steps:
            if self.verifier(env).ok:
                return ResetResult(True, self.name, steps, time.perf_counter() - start, "start state reached")
            for action in np.asarray(self.policy(obs))[:self.config.n_action_steps]:
                obs, *_ = env.step(action)
                observe(self.policy, obs)
                steps += 1
        ok = self.verifier(env).ok
        return ResetResult(ok, self.name, steps, time.perf_counter() - start, "done" if ok else "step limit")
