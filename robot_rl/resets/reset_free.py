"""Reset-free forward/backward practice (RoboFuME-style, notes/algorithms.md): the forward policy runs an
episode from wherever the scene is, then the learned backward policy (`BackwardReset`) puts the scene back
into the task's start distribution, and so on — no teleport, no scripted reset, no operator. The forward
policy learns through a `learn` hook after every pair (`LearnerUpdates`: a fine-tuning Learner updates it in
place) and/or an `improve` callback after each block of forward episodes that returns the next one; with a
backward store, every backward attempt is recorded too (success = its start-state check) and
`improve_backward` (e.g. `FilteredBC` on its demos + verified attempts) gets the verified ones
(robot_rl/resets/improve.py).

Reverse demonstrations for the backward policy come from the task's scripted reset, recorded step by
step (robot_rl/resets/reverse_demos.py).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from robot_rl.resets.backward import BackwardConfig, BackwardReset
from robot_rl.resets.base import Verifier
from robot_rl.resets.reverse_demos import step_recorder
from robot_rl.resets.verify import PredicateVerifier, VerifyConfig, verified_reset
from robot_rl.rl.executor import ExecutorConfig
from robot_rl.rl.interfaces import ChunkPolicy, MirrorReward, RewardSource
from robot_rl.rl.runner import EpisodeRunner, RunnerConfig

Learn = Callable[[dict[str, Any], bool], Any]
"""`learn(forward record, start_ok) -> log entry`: called after every forward/backward pair with the forward
episode's runner record and whether it started from a verified start state."""
Improve = Callable[[int, list[int]], ChunkPolicy]
"""`improve(block, successes) -> forward policy`: called after each block with the store indices of every
successful forward episode so far that started from a verified start state (the same signature for the
backward policy, with its verified attempts)."""


@dataclasses.dataclass(frozen=True)
class ResetFreeConfig:
    """A reset-free practice run."""

    blocks: int = 3
    """Blocks of forward episodes (`improve` and `improve_backward` run after each)."""
    block_episodes: int = 10
    """Forward episodes per block (each followed by a backward episode)."""
    backward: BackwardConfig = BackwardConfig()
    """Step budget and chunk execution of one backward attempt."""
    backward_attempts: int = 2
    """Backward attempts (the first + retries) after each forward episode; never escalated."""
    executor: ExecutorConfig = ExecutorConfig()
    """Chunk execution of the forward policy."""
    seed: int = 0
    """Seeds the reset RNG handed to the backward strategy."""
    log: str = ""
    """JSON-lines log (one line per forward/backward pair; empty = none)."""


@dataclasses.dataclass
class ResetFreeResult:
    """Every forward/backward pair of a run (as logged) and the wall time."""

    records: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def block_success(self, block: int) -> tuple[int, int]:
        """(successes, forward episodes) of one block."""
        rows = [r for r in self.records if r["block"] == block]
        return sum(r["forward"]["success"] for r in rows), len(rows)

    def backward_success(self, block: int | None = None) -> tuple[int, int]:
        """(verified, total) backward attempts (of one block, or all): an attempt succeeds when the
        start-state check passes."""
        attempts = [a for r in self.records if block in (None, r["block"]) for a in r["backward"]["attempts"]]
        return sum(a["verified"] for a in attempts), len(attempts)


class ResetFreePractice:
    """Alternates `forward` episodes (stored in `store`, created with `practice_specs`) and backward
    resets by `backward` (a ChunkPolicy) on `env`, which must already hold a scene: the loop only ever
    calls `env.reset(options={"teleport": False})`."""

    def __init__(self, env: Any, forward: ChunkPolicy, backward: ChunkPolicy, store: Any,
                 config: ResetFreeConfig = ResetFreeConfig(), improve: Improve | None = None,
                 verifier: Verifier | None = None, reward: RewardSource | None = None,
                 backward_store: Any = None, improve_backward: Improve | None = None,
                 learn: Learn | None = None) -> None:
        """`backward_store`: records every backward attempt (created with `episode_specs`; None = not
        recorded); `improve_backward(block, verified attempts)` returns the next backward policy; `learn`:
        the per-pair hook (the forward policy is updated in place, e.g. a Learner's actor)."""
        self.env, self.config, self.improve, self.learn = env, config, improve, learn
        self.verifier = verifier or PredicateVerifier()
        self.reset = BackwardReset(backward, self.verifier, config.backward)
        self.recorded = (RecordedReset(self.reset, backward_store, self.verifier)
                         if backward_store is not None else None)
        self.improve_backward = improve_backward
        runner_cfg = RunnerConfig(executor=config.executor, progress=False, seed=config.seed)
        self.runner = EpisodeRunner(env, forward, reward or MirrorReward(), self.reset, store, runner_cfg,
                                    self.verifier, episode_info={"practice": "reset_free"})
        self.rng = np.random.default_rng(config.seed)
        self.successes: list[int] = []

    def run(self) -> ResetFreeResult:
        result, start = ResetFreeResult(), time.perf_counter()
        log = open(self.config.log, "a") if self.config.log else None  # noqa: SIM115 (closed in finally)
        start_ok = self.verifier(self.env).ok
        try:
            for block in range(self.config.blocks):
                for _ in range(self.config.block_episodes):
                    rec = self.pair(block, len(result.records), start_ok)
                    start_ok = rec["backward"]["verified"]
                    result.records.append(rec)
                    if log is not None:
                        log.write(json.dumps(rec) + "\n")
                        log.flush()
                wins, n = result.block_success(block)
                print(f"[reset-free] block {block}: forward {wins}/{n}, "
                      f"{len(self.successes)} successful forward episodes so far")
                if self.improve is not None:
                    self.runner.policy = self.improve(block, list(self.successes))
                if self.improve_backward is not None and self.recorded is not None:
                    self.reset.policy = self.improve_backward(block, list(self.recorded.successes))
        finally:
            if log is not None:
                log.close()
        result.seconds = time.perf_counter() - start
        return result

    def pair(self, block: int, index: int, start_ok: bool) -> dict[str, Any]:
        """One forward episode from the current scene, then the verified backward reset."""
        self.runner.episode_info["block"] = block
        forward = self.runner.run_episode(index)
        if forward["success"] and start_ok:
            self.successes.append(forward["store_index"])
        once = VerifyConfig(max_attempts=self.config.backward_attempts, escalate=False)
        report = verified_reset(self.env, self.recorded or self.reset, self.verifier, self.rng, once)
        rec = {"block": block, "episode": index, "start_ok": start_ok, "forward": forward,
               "backward": report.to_json()}
        if self.learn is not None:
            rec["learn"] = self.learn(forward, start_ok)
        return rec


class RecordedReset:
    """A reset strategy whose every attempt is stored in `store` as one episode (source "reset", success =
    the verifier's verdict afterwards); `successes` lists the verified ones' store indices."""

    def __init__(self, strategy: BackwardReset, store: Any, verifier: Verifier) -> None:
        self.strategy, self.store, self.verifier = strategy, store, verifier
        self.name = strategy.name
        self.successes: list[int] = []

    def __call__(self, env: Any, rng: np.random.Generator) -> Any:
        writer = self.store.begin_episode(source="reset", task=env.task.config.name, practice="reset_free")
        self.strategy.on_step = step_recorder(writer, env)
        try:
            result = self.strategy(env, rng)
        except BaseException:
            writer.discard()
            raise
        finally:
            self.strategy.on_step = None
        if writer.n_steps == 0:  # already a start state: nothing was done, nothing to learn
            writer.discard()
            return result
        ok = self.verifier(env).ok
        index = writer.commit(success=ok)
        if ok:
            self.successes.append(index)
        return result
