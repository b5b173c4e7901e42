"""`robot-rl finetune`: the robot practises a task on its MuJoCo mirror and improves (in-process
actor/learner). Live progress (rolling success, episodes/hour, mean Q of the chosen chunks, updates);
at the end OUT/curve.png (success vs environment steps) and OUT/metrics.json. Across processes or
machines, run the `actor_node` / `learner_node` pair instead (robot_rl/ros/)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Literal

from robot_rl.rl.finetune import FinetuneConfig
from robot_rl.rl.practice_cli import TaskName

DEFAULT = FinetuneConfig()


def practice_task(task: str, reward: str):
    """The mirror task to practise on: with a learned reward it must not end episodes at its privileged
    success (only the reward's flag or the step limit does, as on a rig)."""
    from robot_rl.tasks.registry import make_task

    if reward == "privileged":
        return make_task(task)
    return make_task(task, dataclasses.replace(make_task(task).config, terminate_on_success=False))


def make_reward(kind: str, checkpoint: Path | None) -> Any:
    """The privileged mirror predicate, or a trained reward model (`robot-rl reward train`)."""
    from robot_rl.rl.interfaces import MirrorReward, ModelReward

    if kind == "privileged":
        return MirrorReward()
    if checkpoint is None:
        raise SystemExit("--reward classifier needs --reward-checkpoint PATH (a robot-rl reward model dir)")
    from robot_rl.rewards.base import load_reward

    return ModelReward(load_reward(checkpoint))


def build_learner(algo: str, checkpoint: Path, demos: Path | None, out: Path, resume: bool,
                  overrides: dict[str, Any]) -> Any:
    """A learner from OUT/learner.safetensors (--resume) or from the pretrained checkpoint."""
    from robot_rl.rl.learner import preset
    from robot_rl.rl.learner_ckpt import empty_offline, from_pretrained, load_offline
    from robot_rl.rl.learner_ckpt import resume as resume_learner

    offline = load_offline(demos, checkpoint) if demos else empty_offline(checkpoint)
    last = out / "learner.safetensors"
    if resume and last.exists():
        learner, _ = resume_learner(last, offline)
        print(f"resumed {last}: {learner.episodes} episodes, {learner.step} updates")
        return learner
    return from_pretrained(preset(algo, **overrides), checkpoint, offline)


def finetune(task: TaskName, checkpoint: Path, demos: Path | None = None,
             algo: Literal["qc", "bc", "rlpd"] = "qc",
             reward: Literal["privileged", "classifier"] = "privileged",
             reward_checkpoint: Path | None = None, episodes: int = 200, minutes: float = 0.0,
             env_steps: int = 0, utd: float | None = None, warmup_episodes: int | None = None,
             n_samples: int | None = None, reset: Literal["teleport", "scripted"] = "teleport",
             store: Path | None = None, out: Path = Path("out/finetune"), eval_episodes: int = 0,
             resume: bool = False, seed: int = 0, image_size: int | None = None,
             operator: bool = False) -> int:
    """Fine-tune a pretrained chunk policy by practising on a task's mirror.

    Args:
        task: Registered task name.
        checkpoint: Pretrained policy (`robot-rl train` .safetensors): starting weights (qc, bc), shapes and
            normalizer (all variants).
        demos: The demonstration store it was trained on (offline replay: BC targets, TD samples); without
            it, fine-tuning uses online data only.
        algo: "qc" (best-of-N by a chunked critic + BC), "bc" (the same BC updates, no critic), "rlpd"
            (from scratch, critic ensemble 10/2).
        reward: "privileged" (the mirror's success predicate) or "classifier" (a trained reward model).
        reward_checkpoint: Reward model directory for --reward classifier.
        episodes: Practice episodes at most.
        minutes: Wall-clock budget (0 = none).
        env_steps: Environment-step budget (0 = none).
        utd: Updates per environment step (default: the variant's).
        warmup_episodes: WSRL warm-up episodes before the first update (default: the variant's).
        n_samples: Chunks sampled per decision for best-of-N (default: the variant's).
        reset: Reset between episodes: "teleport" (mirror, fast) or "scripted" (through the arm).
        store: EpisodeStore for the practice episodes (default OUT/practice.zarr; appended to).
        out: Run directory (learner.safetensors, episodes.jsonl, curve.png, metrics.json).
        eval_episodes: Evaluate the final actor on this many fixed-seed episodes (0 = skip).
        resume: Continue from OUT/learner.safetensors.
        seed: Seeds the learner, runner and actor.
        image_size: Side of the square camera images rendered for --reward classifier (default: the task's
            own size); must be the size the classifier was trained on.
        operator: A simulated operator takes over the policy's mistakes with the scripted expert, HIL-SERL
            style (robot_rl/rl/mirror_operator.py; mirror only: on a rig the person at the teleop does).
    """
    import torch

    from robot_rl.data.store import EpisodeStore
    from robot_rl.env.robot_env import RobotEnv
    from robot_rl.resets.base import make_reset
    from robot_rl.rl.finetune import evaluate_actor, plot_curves, practice
    from robot_rl.rl.mirror_operator import MirrorOperator
    from robot_rl.rl.runner import practice_specs

    torch.set_num_threads(1)
    overrides = {k: v for k, v in (("utd", utd), ("warmup_episodes", warmup_episodes),
                                   ("n_samples", n_samples)) if v is not None} | {"seed": seed}
    out.mkdir(parents=True, exist_ok=True)
    learner = build_learner(algo, checkpoint, demos, out, resume, overrides)
    size = (image_size, image_size) if image_size else None
    env = RobotEnv(practice_task(task, reward), images=reward == "classifier", image_size=size)
    cfg = dataclasses.replace(DEFAULT, episodes=episodes, env_steps=env_steps, time_budget_s=minutes * 60,
                              seed=seed)
    store = store or out / "practice.zarr"
    specs = practice_specs(env.observation_space)
    with EpisodeStore.create(store, specs, {"task": task}, exist_ok=True) as db:
        teleop = MirrorOperator(env) if operator else None
        records = practice(learner, env, make_reward(reward, reward_checkpoint), make_reset(reset), db, cfg,
                           out, teleop=teleop)
    wins = sum(r["success"] for r in records)
    metrics: dict[str, Any] = {"task": task, "algo": learner.cfg.algo, "episodes": learner.episodes,
                               "env_steps": learner.env_steps, "updates": learner.step,
                               "practice_success_rate": wins / max(len(records), 1),
                               "intervention_episodes": sum(r["intervention_steps"] > 0 for r in records)}
    if eval_episodes:
        metrics["eval"] = evaluate_actor(learner.actor(seed), RobotEnv(task, images=False), eval_episodes)
    evals = None
    if eval_episodes:
        evals = {learner.cfg.algo: [(learner.env_steps, metrics["eval"]["success_rate"])]}
    plot_curves({learner.cfg.algo: records}, out / "curve.png", evals=evals, title=f"{task}: fine-tuning")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=1))
    print(f"wrote {out / 'curve.png'}, {out / 'metrics.json'}")
    return 0
