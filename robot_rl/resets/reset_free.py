"""Reset-free forward/backward practice (RoboFuME-style, notes/algorithms.md): the forward policy runs an
episode from wherever the scene is, then the learned backward policy (`BackwardReset`) puts the scene back
into the task's start distribution, and so on — no teleport, no scripted reset, no operator. After each
block of forward episodes an `improve` callback (e.g. `FilteredBC`: fine-tune on demonstrations + the
successful forward episodes) returns the forward policy of the next block.

Reverse demonstrations for the backward policy come from the task's scripted reset, recorded step by
step through `ScriptedReset(on_step=...)` (`record_reverse_demos`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.resets.backward import BackwardConfig, BackwardReset
from robot_rl.resets.base import Verifier
from robot_rl.resets.scripted import ScriptedReset
from robot_rl.resets.verify import PredicateVerifier, VerifyConfig, verified_reset
from robot_rl.rl.executor import ExecutorConfig
from robot_rl.rl.interfaces import ChunkPolicy, MirrorReward, RewardSource
from robot_rl.rl.runner import EpisodeRunner, RunnerConfig

Improve = Callable[[int, list[int]], ChunkPolicy]
"""`improve(block, successes) -> forward policy`: called after each block with the store indices of every
successful forward episode so far that started from a verified start state."""


@dataclasses.dataclass(frozen=True)
class ResetFreeConfig:
    """A reset-free practice run."""

    blocks: int = 3
    """Blocks of forward episodes; the forward policy is improved after each block."""
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

    def backward_success(self) -> tuple[int, int]:
        """(verified, total) backward attempts: an attempt succeeds when the start-state check passes."""
        attempts = [a for r in self.records for a in r["backward"]["attempts"]]
        return sum(a["verified"] for a in attempts), len(attempts)


class ResetFreePractice:
    """Alternates `forward` episodes (stored in `store`, created with `practice_specs`) and backward
    resets by `backward` (a ChunkPolicy) on `env`, which must already hold a scene: the loop only ever
    calls `env.reset(options={"teleport": False})`."""

    def __init__(self, env: Any, forward: ChunkPolicy, backward: ChunkPolicy, store: Any,
                 config: ResetFreeConfig = ResetFreeConfig(), improve: Improve | None = None,
                 verifier: Verifier | None = None, reward: RewardSource | None = None) -> None:
        self.env, self.config, self.improve = env, config, improve
        self.verifier = verifier or PredicateVerifier()
        self.reset = BackwardReset(backward, self.verifier, config.backward)
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
        report = verified_reset(self.env, self.reset, self.verifier, self.rng, once)
        return {"block": block, "episode": index, "start_ok": start_ok, "forward": forward,
                "backward": report.to_json()}


def record_reverse_demos(env: Any, store: Any, episodes: int, seed: int = 0,
                         noises: tuple[float, ...] = (0.0, 0.3, 0.6), layout_seed: int | None = None) -> int:
    """Reverse-task demonstrations: for each, lay out a scene (mirror; `layout_seed` fixes the layout, as a
    rig's bolted-down fixture, else a random one), let the task's expert (action noise cycling through
    `noises`) run forward and stop it at a random step, so end states cover failures and partial progress,
    then record the scripted reset's observations and actions as one episode (source "reset"), committed
    only when the start-state check passes afterwards. Returns the number committed. `store`: created with
    `episode_specs(env.observation_space)`."""
    verifier, kept = PredicateVerifier(), 0
    for k in range(episodes):
        rng = np.random.default_rng(seed + k)
        forward_success = run_expert(env, seed + k if layout_seed is None else layout_seed,
                                     noises[k % len(noises)], rng)
        writer = store.begin_episode(source="reset", task=env.task.config.name, seed=seed + k)
        result = ScriptedReset(on_step=step_recorder(writer, env))(env, rng)
        if result.ok and result.steps > 0 and verifier(env).ok:
            writer.commit(success=True, forward_success=forward_success)
            kept += 1
        else:
            writer.discard()
    return kept


def run_expert(env: Any, layout_seed: int, noise: float, rng: np.random.Generator) -> bool:
    """Lay out the scene, run the noisy expert for a random number of steps (up to the episode's end);
    returns whether the task succeeded."""
    _, info = env.reset(seed=layout_seed)
    expert = env.task.expert(noise, rng)
    for _ in range(int(rng.integers(env.task.config.episode_steps // 4, env.task.config.episode_steps + 1))):
        _, _, terminated, truncated, info = env.step(expert.act(info["state"]))
        if terminated or truncated:
            break
    return bool(info["success"])


def step_recorder(writer: Any, env: Any) -> Callable[[dict, np.ndarray, dict], None]:
    """A `ScriptedReset(on_step=...)` hook appending (observation, action) steps to `writer`."""
    dt = 1.0 / env.task.config.control_hz

    def on_step(obs: dict, action: np.ndarray, info: dict) -> None:
        writer.append(obs | {"action": np.asarray(action, np.float32), "reward": np.float32(0.0),
                             "terminal": False, "time": info["time"] - dt})

    return on_step


class FilteredBC:
    """The `improve` step of filtered behaviour cloning: continue training `trainer` (robot_rl.rl.offline)
    for `steps` updates on the demonstrations plus the given successful practice episodes of `store`, save
    a checkpoint under `out` and return its EMA policy as a ChunkPolicy."""

    def __init__(self, trainer: Any, demos: Any, store: Any, steps: int, out: str | Path,
                 name: str = "forward", seed: int = 0) -> None:
        """`demos`: EpisodeData with (at least) the trainer's keys; `store`: the practice EpisodeStore."""
        self.trainer, self.store, self.steps, self.out = trainer, store, steps, Path(out)
        self.keys, self.name, self.seed = list(trainer.shapes), name, seed
        self.demos = type(demos)({k: demos[k] for k in self.keys}, demos.episode_ends)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, block: int, successes: list[int]) -> ChunkPolicy:
        from robot_rl.rl.interfaces import CheckpointChunkPolicy

        data = self.demos.subset(np.arange(self.demos.n_episodes))
        for i in successes:
            data.add_episode(self.store.read_episode(int(i), self.keys))
        self.trainer.attach(data)
        start = time.perf_counter()
        for _ in range(self.steps):
            self.trainer.train_step()
        self.calls.append({"block": block, "practice_episodes": len(successes), "steps": self.steps,
                           "train_s": round(time.perf_counter() - start, 1)})
        path = self.trainer.save(self.out / f"{self.name}_block{block}.safetensors")
        return CheckpointChunkPolicy(path, seed=self.seed + block)
