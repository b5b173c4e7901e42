"""The episode runner shared by the mirror and hardware (DESIGN §2): observe → choose a chunk → the
executor streams it (latency compensation on the real-time path) → reward → transitions appended to the
EpisodeStore → reset → verify.

Episodes are stored with source "online", or "intervention" when a teleop device was engaged on any of
their steps; engaged teleop actions replace the policy's action (what is stored is what the arm got) and
a per-step `intervention` key marks them. Each episode writes one JSON line to `config.log` (index,
success, length, reset strategy, verification, retries, escalation, wall times) and moves a progress
bar showing the success rate and episodes per hour.

Episode starts never teleport: `env.reset(options={"teleport": False})` keeps the scene the reset left.
In the mirror the very first scene is set up by a randomised `env.reset(seed=...)` (a person laying out
the scene before a practice session); on hardware the scene is what it is.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from robot_rl.data.spec import KeySpec
from robot_rl.drivers.teleop_base import TeleopDevice, teleop_to_action
from robot_rl.env.specs import episode_specs
from robot_rl.resets.base import ResetStrategy, Verifier, is_mirror
from robot_rl.resets.verify import PredicateVerifier, VerifyConfig, verified_reset
from robot_rl.rl.executor import ExecutorConfig, make_executor
from robot_rl.rl.interfaces import ChunkPolicy, RewardSource, observe

INTERVENTION_SPEC = KeySpec((), "bool", units="1",
                            description="the action came from an engaged teleop device")


def practice_specs(observation_space: gym.spaces.Dict) -> dict[str, KeySpec]:
    """Store keys of practice episodes: the demo keys plus the per-step `intervention` flag."""
    return episode_specs(observation_space) | {"intervention": INTERVENTION_SPEC}


@dataclasses.dataclass(frozen=True)
class RunnerConfig:
    """An autonomous practice run."""

    episodes: int = 10
    """Episodes to run (each followed by a verified reset)."""
    seed: int = 0
    """Seeds the reset randomisation (and the mirror's first scene)."""
    executor: ExecutorConfig = ExecutorConfig()
    """Chunk execution: actions per chunk, real-time latency compensation."""
    verify: VerifyConfig = VerifyConfig()
    """Reset retries and escalation."""
    end_on_success: bool = True
    """End an episode at the first step the reward source reports success."""
    stop_on_failed_reset: bool = True
    """Stop the run when a reset stays unverified (after retries and escalation): never practise from an
    unknown scene."""
    log: str = ""
    """JSON-lines log file, one line per episode (empty = no file)."""
    progress: bool = True
    """Show a tqdm progress bar."""


@dataclasses.dataclass
class _Episode:
    """Book-keeping of the episode in flight."""

    obs: dict[str, np.ndarray]
    info: dict[str, Any]
    writer: Any
    steps: int = 0
    success: bool = False
    interventions: int = 0
    done: bool = False


class EpisodeRunner:
    """Runs practice episodes of `policy` on `env` into `store` (created with `practice_specs`)."""

    def __init__(self, env: Any, policy: ChunkPolicy, reward: RewardSource, reset: ResetStrategy, store: Any,
                 config: RunnerConfig = RunnerConfig(), verifier: Verifier | None = None,
                 operator: ResetStrategy | None = None, teleop: TeleopDevice | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 episode_info: dict[str, Any] | None = None) -> None:
        self.env, self.policy, self.reward, self.reset, self.store = env, policy, reward, reset, store
        self.config, self.operator, self.teleop, self.clock = config, operator, teleop, clock
        self.verifier = verifier or PredicateVerifier()
        self.executor = make_executor(config.executor, 1.0 / env.task.config.control_hz, clock, sleep)
        self.rng = np.random.default_rng(config.seed)
        self.episode_info = {"task": env.task.config.name, "policy": getattr(policy, "name", "policy"),
                             "reset": reset.name, **(episode_info or {})}

    # ------------------------------------------------------------------ the run
    def run(self) -> list[dict[str, Any]]:
        """Run `config.episodes` episodes; returns their log records."""
        from tqdm import tqdm

        cfg = self.config
        if is_mirror(self.env):
            self.env.reset(seed=cfg.seed)
        records: list[dict[str, Any]] = []
        log = open(cfg.log, "a") if cfg.log else None  # noqa: SIM115 (closed in finally)
        start = time.perf_counter()
        try:
            with tqdm(total=cfg.episodes, desc=f"practice {self.episode_info['task']}", unit="ep",
                      disable=not cfg.progress) as bar:
                for k in range(cfg.episodes):
                    rec = self.run_episode(k)
                    report = verified_reset(self.env, self.reset, self.verifier, self.rng, cfg.verify,
                                            self.operator)
                    rec["reset"] = report.to_json()
                    records.append(rec)
                    if log is not None:
                        log.write(json.dumps(rec) + "\n")
                        log.flush()
                    bar.update(1)
                    bar.set_postfix(self._postfix(records, time.perf_counter() - start))
                    if not report.verified and cfg.stop_on_failed_reset:
                        print(f"stopping: the reset after episode {k} could not be verified: {rec['reset']}")
                        break
        finally:
            if log is not None:
                log.close()
        return records

    @staticmethod
    def _postfix(records: list[dict[str, Any]], seconds: float) -> dict[str, str]:
        n = len(records)
        wins = sum(r["success"] for r in records)
        retries = sum(r["reset"]["retries"] for r in records)
        return {"success": f"{wins}/{n}", "ep/h": f"{n * 3600 / max(seconds, 1e-9):.0f}",
                "reset_retries": str(retries)}

    # ------------------------------------------------------------------ one episode
    def run_episode(self, index: int) -> dict[str, Any]:
        """One episode from the current scene; committed to the store. Returns its log record."""
        start = time.perf_counter()
        obs, info = self.env.reset(options={"teleport": False})
        self.policy.reset()
        self.reward.reset()
        if self.teleop is not None:  # presses made between episodes do not carry over
            self.teleop.reset()
        writer = self.store.begin_episode(source="online", **self.episode_info)
        ep = _Episode(obs, info, writer)
        dropped = overruns = 0
        infer: list[float] = []
        try:
            while not ep.done:
                obs_time = float(ep.info.get("capture_time", self.clock()))  # host monotonic, else on arrival
                t0 = time.perf_counter()
                chunk = np.asarray(self.policy(ep.obs), dtype=np.float32)
                infer.append(time.perf_counter() - t0)
                stats = self.executor.run(chunk, obs_time, lambda a: self._step(ep, a))
                dropped, overruns = dropped + stats.dropped, overruns + stats.overruns
        except BaseException:
            writer.discard()
            raise
        if ep.interventions:
            writer.source = "intervention"
        idx = writer.commit(success=ep.success, intervention_steps=ep.interventions, dropped_actions=dropped)
        return {"episode": index, "store_index": idx, "source": writer.source, "success": ep.success,
                "length": ep.steps, "intervention_steps": ep.interventions, "dropped_actions": dropped,
                "overruns": overruns, "infer_ms_p50": round(float(np.median(infer)) * 1000, 2),
                "episode_s": round(time.perf_counter() - start, 3)}

    def _step(self, ep: _Episode, action: np.ndarray) -> bool:
        """Apply one action (or the engaged teleop's), score it, store the transition; True = episode over."""
        intervention = False
        if self.teleop is not None:
            cmd = self.teleop.read()
            if cmd.engaged:
                action, intervention = teleop_to_action(cmd), True
        action = np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0)
        t = ep.info["time"]
        obs, _, terminated, truncated, info = self.env.step(action)
        reward, success = self.reward(obs, info)
        ep.success |= success
        terminal = bool(terminated or (success and self.config.end_on_success))
        ep.writer.append(ep.obs | {"action": action, "reward": np.float32(reward), "terminal": terminal,
                                   "time": t, "intervention": intervention})
        ep.obs, ep.info = obs, info
        observe(self.policy, obs)
        ep.steps += 1
        ep.interventions += intervention
        ep.done = terminal or bool(truncated)
        return ep.done


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals of a run's log records (the practice CLI prints them)."""
    n = len(records)
    resets = [r["reset"] for r in records]
    attempts = [a for r in resets for a in r["attempts"]]
    return {"episodes": n, "successes": sum(r["success"] for r in records),
            "success_rate": sum(r["success"] for r in records) / max(n, 1),
            "mean_length": float(np.mean([r["length"] for r in records])) if n else 0.0,
            "intervention_episodes": sum(r["source"] == "intervention" for r in records),
            "dropped_actions": sum(r["dropped_actions"] for r in records),
            "reset_attempts": len(attempts), "reset_attempts_verified": sum(a["verified"] for a in attempts),
            "resets_verified": sum(r["verified"] for r in resets),
            "reset_retries": sum(r["retries"] for r in resets),
            "escalations": sum(r["escalated"] for r in resets),
            "reset_strategies": sorted({a["strategy"] for a in attempts})}

