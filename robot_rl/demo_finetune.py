"""The online stages of `robot-rl demo` (robot_rl/demo.py runs them in order): closed-loop evaluation on
fixed seeds, and fine-tuning by practice in the mirror with the success classifier's reward and scripted
resets (the in-process actor/learner of `robot-rl finetune`, robot_rl/rl/finetune.py).

Success in an evaluation is the mirror's privileged predicate; the classifier's reward is only the
training signal. During practice the predicate is recorded beside every reward the learner receives,
never given to it, so the report can say how often the classifier was right on the policy's own frames.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

EVAL_SEED = 10_000
"""Evaluation episode k starts from the scene of seed EVAL_SEED + k, before and after fine-tuning alike;
disjoint from the demonstrations' scenes (seeds 1..) and the practice scenes (reset randomisation)."""


class TimedActor:
    """A chunk policy that records how long each chunk takes to plan (ms)."""

    def __init__(self, actor: Any) -> None:
        self.actor, self.ms = actor, []

    def reset(self) -> None:
        self.actor.reset()

    def observe(self, obs: Mapping[str, np.ndarray]) -> None:
        self.actor.observe(obs)

    def __call__(self, obs: Mapping[str, np.ndarray]) -> np.ndarray:
        start = time.perf_counter()
        chunk = self.actor(obs)
        self.ms.append(1e3 * (time.perf_counter() - start))
        return chunk


def evaluate_policy(actor: Any, task: str, episodes: int, label: str, failures: Path | None = None,
                    image_size: int = 64) -> dict[str, Any]:
    """Success rate (privileged predicate) with its Wilson 95% interval over `episodes` fixed-seed
    episodes (state observations, 8 actions per chunk), and the chunk planning latency.

    failures: also render both cameras (`image_size` pixels) and record every failed episode into this
    store, committed as failed: what an operator watching the evaluation labels, and the negatives from
    the policy's own states that the success classifier needs (demonstrations alone never show them)."""
    from tqdm import tqdm

    from robot_rl.env.robot_env import RobotEnv
    from robot_rl.rl.eval import wilson_interval
    from robot_rl.rl.finetune import evaluate_actor

    env = RobotEnv(task, images=failures is not None, image_size=(image_size, image_size))
    recorder = FailureRecorder(env, failures, task) if failures is not None else None
    timed, wins, lengths, start = TimedActor(actor), 0, [], time.perf_counter()
    with tqdm(range(episodes), desc=f"evaluate {label}", unit="ep") as bar:
        for k in bar:  # one episode per call, same seeds as one call over all: a live success count
            r = evaluate_actor(timed, recorder or env, 1, seed=EVAL_SEED + k)
            wins += r["successes"]
            lengths.append(r["mean_length"])
            if recorder is not None:
                recorder.end(bool(r["successes"]))
            bar.set_postfix(success=f"{wins}/{k + 1}")
    if recorder is not None:
        recorder.store.close()
    env.close()
    ms = np.asarray(timed.ms)
    return {"episodes": episodes, "successes": wins, "success_rate": wins / max(episodes, 1),
            "ci95": list(wilson_interval(wins, episodes)), "mean_length": float(np.mean(lengths)),
            "seconds": time.perf_counter() - start, "chunks": len(ms),
            "chunk_ms_p50": float(np.percentile(ms, 50)), "chunk_ms_p99": float(np.percentile(ms, 99)),
            "failures_recorded": recorder.recorded if recorder is not None else 0}


class FailureRecorder:
    """An env wrapper that records each episode's observations and actions; `end(success)` commits a failed
    episode to the store (source "eval", success 0) and drops a successful one."""

    def __init__(self, env: Any, store: Path, task: str) -> None:
        from robot_rl.data.store import EpisodeStore
        from robot_rl.env.specs import episode_specs

        self.env, self.writer, self.recorded = env, None, 0
        self.store = EpisodeStore.create(store, episode_specs(env.observation_space),
                                         {"task": task, "prompt": env.task.prompt()}, exist_ok=True)

    def reset(self, seed: int | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        self.obs, info = self.env.reset(seed=seed)
        self.time = info["time"]
        self.writer = self.store.begin_episode(source="eval", seed=seed)
        return self.obs, info

    def step(self, action: np.ndarray) -> tuple[Any, ...]:
        out = self.env.step(action)
        self.writer.append(self.obs | {"action": np.asarray(action, np.float32), "reward": np.float32(out[1]),
                                       "terminal": bool(out[2]), "time": self.time})
        self.obs, self.time = out[0], out[4]["time"]
        return out

    def end(self, success: bool) -> None:
        if success:
            self.writer.discard()
        else:
            self.writer.commit(success=False)
            self.recorded += 1


class ResetWithOperator:
    """The task's scripted reset (through the arm, never touching the sim state); when the start-state
    predicate rejects the scene afterwards, the operator's stand-in puts it right: on the mirror a
    teleport to a fresh scene, what a person at a rig does when a scripted reset fails. `practice()` has
    no operator to escalate to and would practise from the rejected scene. Counts the failures and
    their failed checks for the report."""

    name = "scripted"

    def __init__(self) -> None:
        from robot_rl.resets.base import make_reset
        from robot_rl.resets.verify import PredicateVerifier

        self.scripted, self.operator = make_reset("scripted"), make_reset("teleport")
        self.verifier = PredicateVerifier()
        self.attempts, self.failures = 0, []

    def __call__(self, env: Any, rng: np.random.Generator) -> Any:
        result = self.scripted(env, rng)
        self.attempts += 1
        verdict = self.verifier(env)
        if verdict.ok:
            return result
        failed = sorted(k for k, ok in verdict.checks.items() if not ok)
        self.failures.append({"message": result.message, "failed_checks": failed})
        return self.operator(env, rng)


def finetune_online(task: str, checkpoint: Path, demos: Path, reward_model: Path, out: Path,
                    image_size: int, minutes: float, max_episodes: int, overrides: dict[str, Any],
                    seed: int) -> tuple[Any, dict[str, Any]]:
    """Practice episodes with the classifier's reward and verified scripted resets (the arm puts the
    cube back through the normal command path), each followed by the learner's updates; stops after
    `minutes` of wall time or `max_episodes`. The qc preset with `overrides`: WSRL warm-up episodes with
    the pretrained policy, then the chunked critic's offline pretraining (TD on the demos + warm-up
    episodes), then best-of-N acting by the critic and BC + TD updates. A scripted reset the start-state
    predicate rejects is finished by the operator's stand-in (`ResetWithOperator`). Returns (learner,
    run summary)."""
    import dataclasses

    from robot_rl.data.store import EpisodeStore
    from robot_rl.env.robot_env import RobotEnv
    from robot_rl.rewards.base import load_reward
    from robot_rl.rl.finetune import FinetuneConfig, practice
    from robot_rl.rl.finetune_cli import build_learner
    from robot_rl.rl.interfaces import AuditedReward
    from robot_rl.rl.runner import practice_specs
    from robot_rl.tasks.registry import make_task

    out.mkdir(parents=True, exist_ok=True)
    learner = build_learner("qc", checkpoint, demos, out, False, overrides | {"seed": seed})
    reward, reset = AuditedReward(load_reward(reward_model)), ResetWithOperator()
    # the mirror must not end an episode at its privileged success: only the classifier's flag (or the
    # step limit) does, as on a rig; the cameras at the size the classifier was trained on
    config = dataclasses.replace(make_task(task).config, terminate_on_success=False)
    env = RobotEnv(make_task(task, config), images=True, image_size=(image_size, image_size))
    cfg = FinetuneConfig(episodes=max_episodes, time_budget_s=60.0 * minutes, window=10, seed=seed)
    start = time.perf_counter()
    with EpisodeStore.create(out / "practice.zarr", practice_specs(env.observation_space),
                             {"task": task}) as db:
        records = practice(learner, env, reward, reset, db, cfg, out)
        starts = [db.read_episode(i, ["state/ee_pos"])["state/ee_pos"][0] for i in range(db.n_episodes)]
    env.close()
    truth = reward.predicate_success()
    for i, (rec, ok) in enumerate(zip(records, truth, strict=True)):
        rec |= {"predicate_success": ok, "store_index": i}  # a new store: one episode per record
    run = {"records": records, "seconds": time.perf_counter() - start, "episodes": learner.episodes,
           "env_steps": learner.env_steps, "updates": learner.step, "critic_steps": learner.critic_steps,
           "warmup_episodes": learner.cfg.warmup_episodes,
           "critic_pretrain_steps": learner.cfg.critic_pretrain_steps,
           "classifier_success_rate": float(np.mean([r["success"] for r in records])) if records else 0.0,
           "predicate_success_rate": float(np.mean(truth)) if truth else 0.0,
           "reward_on_policy": reward.metrics(), "learner": dataclasses.asdict(learner.cfg),
           "resets": {"scripted": reset.attempts, "rejected": len(reset.failures),
                      "failures": reset.failures},
           "start_tcp_z": float(np.mean(np.asarray(starts)[:, 2])) if starts else None}
    return learner, run
