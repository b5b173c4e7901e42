"""`robot-rl bench finetune`: online fine-tuning on the MuJoCo mirror, end to end on CPU.

Per task: collect a few scripted demos, pretrain the quick diffusion policy on them (few enough that it
succeeds <= 50%), evaluate it, fine-tune with Q-chunking within a wall-clock budget, evaluate the actor
(best-of-N) on fixed seeds; then BC-only fine-tuning and an RLPD-style agent from scratch with the same
number of environment steps, evaluated the same way. Writes JSON (rewritten after every stage, so an
interrupted run still reports what it measured) and a learning-curve PNG per task.

Every variant practises with the simulated operator (robot_rl/rl/mirror_operator.py) taking over its
mistakes, HIL-SERL style (`--no-operator`: alone); the JSON counts the episodes and steps it took over.
`--reward classifier`: practice is rewarded by each task's success classifier from camera frames instead
of the mirror's predicate, and the JSON audits its verdicts against the predicate.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from robot_rl.bench.common import write_json


@dataclasses.dataclass(frozen=True)
class FinetuneBenchConfig:
    """Fine-tuning benchmark (quick config, 1 torch thread)."""

    json: Path = Path("out/bench/finetune.json")
    """Where to write the results (JSON); curve PNGs go beside it."""
    tasks: tuple[str, ...] = ("pick_cube", "peg_insert")
    """Mirror tasks, run one after the other."""
    algos: tuple[str, ...] = ("qc", "bc", "rlpd")
    """Variants; the first runs on the wall-clock budget, the others get its environment steps."""
    demos: int = 7
    """Scripted demos for pretraining and the offline replay (7: the pretrained pick_cube policy succeeds on
    38% of the evaluation scenes; 5 gave 32%, 8 gave 56%)."""
    pretrain_steps: int = 6000
    """Policy updates of the pretraining (cosine schedule to 0 at the end)."""
    minutes: float = 30.0
    """Wall-clock budget of the first variant on the first task."""
    other_minutes: float = 15.0
    """Wall-clock budget of the first variant on the other tasks."""
    env_steps: int = 0
    """Environment steps of every variant; 0: the first variant's wall-clock budget sets them (a run of
    only the later variants, e.g. --algos bc rlpd, then needs them here to match the first's)."""
    max_episodes: int = 2000
    """Practice episodes at most per variant."""
    eval_episodes: int = 50
    """Evaluation episodes (fixed seeds, disjoint from the demos') before and after fine-tuning."""
    operator: bool = True
    """Practise with the simulated operator (robot_rl/rl/mirror_operator.py: it takes over with the scripted
    expert when the policy comes down beside its target, misses a grasp or runs late; HIL-SERL style) in
    every variant; evaluation never has it. --no-operator: the robot practises alone (then Q-chunking did
    not improve pick_cube: 16/50 -> 14/50 from 5 demos)."""
    reward: Literal["privileged", "classifier"] = "privileged"
    """Practice reward: the mirror's success predicate, or each task's success classifier from camera frames
    (episodes then end on its flag, not on the predicate; evaluation always uses the predicate)."""
    reward_models: Path | None = None
    """For --reward classifier: the `--keep` directory of `robot-rl bench reward` (models trained from the
    recorder's labels, read from DIR/<task>/model)."""
    image_size: int = 64
    """Side (pixels) of the camera frames rendered for the classifier: the size it was trained on."""
    seed: int = 0
    """Seed of demos, training and practice."""
    keep: Path | None = None
    """Keep stores and checkpoints here (default: a temporary directory, removed); a rerun with the same
    directory reuses the pretrained checkpoint."""


def pretrain(task: str, workdir: Path, demos: int, steps: int, seed: int) -> tuple[Path, Path, float]:
    """(checkpoint, demo store, seconds): scripted demos + the quick policy config; reused when present."""
    from robot_rl.env.cli import collect
    from robot_rl.rl.config import TrainConfig
    from robot_rl.rl.train_cli import train

    store, out = workdir / f"{task}_demos.zarr", workdir / f"{task}_pretrain"
    ckpt = out / "last.safetensors"
    start = time.perf_counter()
    if not ckpt.exists():
        shutil.rmtree(store, ignore_errors=True)
        collect(task=task, episodes=demos, store=store, images=False, seed=seed)
        train(store=store, out=out, task=task, cfg=TrainConfig(steps=steps, eval_episodes=0, ckpt_every=steps,
                                                               warmup_steps=200, seed=seed))
    return ckpt, store, time.perf_counter() - start


def evaluate_start(task: str, ckpt: Path, episodes: int) -> dict[str, Any]:
    from robot_rl.env.robot_env import RobotEnv
    from robot_rl.rl.actor import QChunkPolicy
    from robot_rl.rl.finetune import evaluate_actor
    from robot_rl.rl.offline import load_policy

    return evaluate_actor(QChunkPolicy(load_policy(ckpt), None), RobotEnv(task, images=False), episodes)


def practice_setup(task: str, cfg: FinetuneBenchConfig) -> tuple[Any, Any, Any]:
    """(env, reward, operator or None) of a variant's practice."""
    from robot_rl.env.robot_env import RobotEnv
    from robot_rl.rewards.base import load_reward
    from robot_rl.rl.finetune_cli import practice_task
    from robot_rl.rl.interfaces import AuditedReward, MirrorReward
    from robot_rl.rl.mirror_operator import MirrorOperator

    classifier = cfg.reward == "classifier"
    if classifier and cfg.reward_models is None:
        raise SystemExit("--reward classifier needs --reward-models DIR (robot-rl bench reward --keep DIR)")
    env = RobotEnv(practice_task(task, cfg.reward), images=classifier, image_size=(cfg.image_size,) * 2)
    model = Path(cfg.reward_models or ".") / task / "model"
    reward = AuditedReward(load_reward(model)) if classifier else MirrorReward()
    return env, reward, MirrorOperator(env) if cfg.operator else None


def run_algo(task: str, algo: str, ckpt: Path, store: Path, workdir: Path, minutes: float, env_steps: int,
             cfg: FinetuneBenchConfig) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from robot_rl.data.store import EpisodeStore
    from robot_rl.env.robot_env import RobotEnv
    from robot_rl.resets.teleport import TeleportReset
    from robot_rl.rl.finetune import FinetuneConfig, evaluate_actor, practice
    from robot_rl.rl.learner import preset
    from robot_rl.rl.learner_ckpt import from_pretrained, load_offline
    from robot_rl.rl.runner import practice_specs

    learner = from_pretrained(preset(algo, seed=cfg.seed), ckpt, load_offline(store, ckpt))
    env, reward, operator = practice_setup(task, cfg)
    out = workdir / f"{task}_{algo}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    budget = FinetuneConfig(episodes=cfg.max_episodes, env_steps=env_steps, time_budget_s=minutes * 60,
                            seed=cfg.seed)
    start = time.perf_counter()
    with EpisodeStore.create(out / "practice.zarr", practice_specs(env.observation_space)) as db:
        records = practice(learner, env, reward, TeleportReset(), db, budget, out, teleop=operator,
                           label=f"{task} {algo}")
    train_s = time.perf_counter() - start
    result = evaluate_actor(learner.actor(cfg.seed + 1), RobotEnv(task, images=False), cfg.eval_episodes)
    print(f"[{task} {algo}] eval {result['successes']}/{result['episodes']} after {learner.env_steps} "
          f"env steps, {train_s / 60:.1f} min")
    row = {"algo": algo, "env_steps": learner.env_steps, "episodes": learner.episodes,
           "updates": learner.step, "finetune_minutes": train_s / 60,
           "practice_success_rate": sum(r["success"] for r in records) / max(len(records), 1),
           "reward": cfg.reward, "intervention_episodes": sum(r["intervention_steps"] > 0 for r in records),
           "intervention_steps": sum(r["intervention_steps"] for r in records),
           "takeovers": dict(Counter(t["why"] for t in operator.takeovers)) if operator else {},
           "eval": result, "success_rate": result["success_rate"],
           "config": json.loads(json.dumps(dataclasses.asdict(learner.cfg)))}
    if hasattr(reward, "metrics"):  # the classifier's verdicts vs the mirror's predicate, rewarded frames
        row["reward_audit"] = {"metrics": reward.metrics(),
                               "practice_predicate_successes": sum(reward.predicate_success())}
    return row, records


def run_task(task: str, workdir: Path, minutes: float, cfg: FinetuneBenchConfig,
             results: dict[str, Any]) -> None:
    from robot_rl.rl.finetune import plot_curves

    ckpt, store, pre_s = pretrain(task, workdir, cfg.demos, cfg.pretrain_steps, cfg.seed)
    start = evaluate_start(task, ckpt, cfg.eval_episodes)
    print(f"[{task}] pretrained: {start['successes']}/{start['episodes']}")
    entry = results["tasks"][task] = {"demos": cfg.demos, "pretrain_steps": cfg.pretrain_steps,
                                      "pretrain_minutes": pre_s / 60, "start": start, "algos": {}}
    write_json(cfg.json, "finetune", results)
    curves, evals, steps = {}, {}, cfg.env_steps
    for algo in cfg.algos:
        row, curves[algo] = run_algo(task, algo, ckpt, store, workdir, 0.0 if steps else minutes, steps, cfg)
        steps = steps or row["env_steps"]
        evals[algo] = [(0, start["success_rate"]) if algo != "rlpd" else (0, float("nan")),
                       (row["env_steps"], row["success_rate"])]
        entry["algos"][algo] = row
        entry["curve_png"] = str(plot_curves(curves, cfg.json.with_name(f"{cfg.json.stem}_{task}.png"),
                                             evals=evals, title=f"{task}: fine-tuning on the mirror"))
        write_json(cfg.json, "finetune", results)


def run(cfg: FinetuneBenchConfig) -> dict[str, Any]:
    workdir = Path(cfg.keep) if cfg.keep else Path(tempfile.mkdtemp(prefix="robot_rl_finetune_"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"threads": 1, "tasks": {}, "config": json.loads(json.dumps(
        dataclasses.asdict(cfg), default=str))}
    try:
        for i, task in enumerate(cfg.tasks):
            run_task(task, workdir, cfg.minutes if i == 0 else cfg.other_minutes, cfg, results)
            first = results["tasks"][task]["algos"].get(cfg.algos[0], {})
            results[f"{task}_start_success"] = results["tasks"][task]["start"]["success_rate"]
            for algo, row in results["tasks"][task]["algos"].items():
                results[f"{task}_{algo}_success"] = row["success_rate"]
            if task == "pick_cube" and first and cfg.algos[0] == "qc" and not cfg.env_steps:
                results["target_pick_cube>=0.9_within_30min"] = (
                    first["success_rate"] >= 0.9 and first["finetune_minutes"] <= 30)
            write_json(cfg.json, "finetune", results)
    finally:
        if cfg.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return results
