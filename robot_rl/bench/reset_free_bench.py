"""`robot-rl bench reset-free`: reset-free forward/backward practice on drawer_open in the MuJoCo mirror.

1. Demonstrations (state observations) in the practice scene (the cabinet stays where it was laid out, as
   on a rig): a few forward demos by the scripted expert and reverse demos recorded from the scripted
   reset after the noisy expert was stopped at a random step (`record_reverse_demos`).
2. A backward diffusion policy trained by BC on the reverse demos; a deliberately weak forward policy
   (few demos, short training).
3. Reset-free practice in that scene: forward episode, learned backward reset, forward, ... never a
   teleport or a scripted reset. After each block the forward policy is fine-tuned by filtered BC on
   demos + its successful practice episodes.
4. Forward success before / after practice on a fixed set of starts in the practice scene (the scene laid
   out again and the arm brought home by the scripted reset with fixed seeds: evaluation only), with 95%
   Wilson intervals; a control policy fine-tuned for the same steps on the demos alone; the backward
   success rate (attempts whose start-state check passes); wall time.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.bench.common import write_json
from robot_rl.rl.interfaces import observe


@dataclasses.dataclass(frozen=True)
class ResetFreeBenchConfig:
    """Sizes of the reset-free benchmark."""

    task: str = "drawer_open"
    """Mirror task."""
    forward_demos: int = 10
    """Scripted forward demonstrations in the practice scene (the weak starting policy's data)."""
    backward_demos: int = 40
    """Reverse demonstrations recorded from the scripted reset in the practice scene."""
    backward_steps: int = 4000
    """BC updates of the backward policy."""
    forward_steps: int = 2000
    """BC updates of the initial forward policy."""
    finetune_steps: int = 500
    """Filtered-BC updates after each practice block."""
    blocks: int = 3
    """Practice blocks."""
    block_episodes: int = 10
    """Forward episodes per block (each followed by a backward reset)."""
    obs_keys: tuple[str, ...] = ("state/ee_pos", "state/gripper", "state/handle_pos", "state/drawer_opening")
    """Policy observations (both policies): the TCP, gripper and drawer state; joints and orientation left
    out (few demos generalise better from fewer inputs)."""
    eval_episodes: int = 20
    """Evaluation starts (before and after)."""
    layout_seed: int = 7
    """Seed of the practice scene's layout."""
    control: bool = True
    """Also fine-tune a copy of the initial policy on the demos alone for the same steps and evaluate it."""
    threads: int = 1
    """torch CPU threads."""
    seed: int = 0
    """Seeds demos, training and practice."""


def wilson(successes: int, n: int) -> dict[str, Any]:
    from robot_rl.rl.eval import wilson_interval

    return {"successes": successes, "episodes": n, "rate": successes / max(n, 1),
            "ci95": list(wilson_interval(successes, n))}


def rollout(env: Any, policy: Any, n_action_steps: int = 8) -> bool:
    """One forward episode from the current scene (no teleport); its success."""
    obs, _ = env.reset(options={"teleport": False})
    policy.reset()
    while True:
        for action in np.asarray(policy(obs))[:n_action_steps]:
            obs, _, terminated, truncated, info = env.step(action)
            observe(policy, obs)
            if terminated or truncated:
                return bool(info["success"])


def evaluate_starts(env: Any, policy: Any, layout_seed: int, episodes: int, seed: int) -> dict[str, Any]:
    """Forward success on fixed starts: the practice layout, arm brought home by the scripted reset
    (seed + i) — the same starts for every policy evaluated."""
    from robot_rl.resets.scripted import ScriptedReset

    wins = 0
    for i in range(episodes):
        env.reset(seed=layout_seed)
        ScriptedReset()(env, np.random.default_rng(seed + i))
        wins += rollout(env, policy)
    return wilson(wins, episodes)


def train_backward(cfg: ResetFreeBenchConfig, workdir: Path, env: Any) -> tuple[Any, dict[str, Any]]:
    from robot_rl.data.store import EpisodeStore
    from robot_rl.env.specs import episode_specs
    from robot_rl.policies.policy import PolicyConfig
    from robot_rl.resets.reset_free import record_reverse_demos
    from robot_rl.rl.config import TrainConfig
    from robot_rl.rl.interfaces import CheckpointChunkPolicy
    from robot_rl.rl.train_cli import train

    store = workdir / "backward_demos.zarr"
    t0 = time.perf_counter()
    with EpisodeStore.create(store, episode_specs(env.observation_space), {"task": cfg.task}) as db:
        kept = record_reverse_demos(env, db, cfg.backward_demos, cfg.seed + 10_000,
                                    layout_seed=cfg.layout_seed)
        steps = db.n_steps
    collect_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    tc = TrainConfig(policy=PolicyConfig(obs_keys=cfg.obs_keys), steps=cfg.backward_steps,
                     warmup_steps=min(500, cfg.backward_steps // 5),
                     eval_episodes=0, threads=cfg.threads, seed=cfg.seed, ckpt_every=cfg.backward_steps)
    train(store=store, out=workdir / "backward", cfg=tc)
    info = {"demos": kept, "demo_steps": steps, "collect_s": round(collect_s, 1),
            "train_s": round(time.perf_counter() - t0, 1), "train_steps": cfg.backward_steps}
    return CheckpointChunkPolicy(workdir / "backward" / "last.safetensors", seed=cfg.seed), info


def record_forward_demos(env: Any, store: Any, cfg: ResetFreeBenchConfig) -> int:
    """Scripted forward demonstrations in the practice scene: laid out, arm brought home by the scripted
    reset (seeds disjoint from the evaluation's), then the expert's episode; returns the successes."""
    from robot_rl.resets.scripted import ScriptedReset

    wins = 0
    for k in range(cfg.forward_demos):
        env.reset(seed=cfg.layout_seed)
        ScriptedReset()(env, np.random.default_rng(cfg.seed + k))
        obs, info = env.reset(options={"teleport": False})
        expert = env.task.expert(0.0, np.random.default_rng(cfg.seed + k))
        writer = store.begin_episode(source="demo", task=cfg.task, seed=cfg.seed + k)
        done = False
        while not done:
            action, t = expert.act(info["state"]), info["time"]
            next_obs, reward, terminated, truncated, info = env.step(action)
            writer.append(obs | {"action": action, "reward": np.float32(reward), "terminal": terminated,
                                 "time": t})
            obs, done = next_obs, terminated or truncated
        writer.commit(success=bool(info["success"]))
        wins += bool(info["success"])
    return wins


def train_forward(cfg: ResetFreeBenchConfig, workdir: Path, env: Any) -> tuple[Any, Any, dict[str, Any]]:
    """The initial (weak) forward trainer, its demos and timing; the LR schedule spans initial training and
    every fine-tuning block."""
    from robot_rl.data.episodes import EpisodeData
    from robot_rl.data.store import EpisodeStore
    from robot_rl.env.specs import episode_specs
    from robot_rl.policies.policy import PolicyConfig
    from robot_rl.rl.config import TrainConfig
    from robot_rl.rl.offline import Trainer

    with EpisodeStore.create(workdir / "forward_demos.zarr", episode_specs(env.observation_space)) as db:
        wins = record_forward_demos(env, db, cfg)
        demos = EpisodeData.from_store(db)
    total = cfg.forward_steps + cfg.blocks * cfg.finetune_steps
    tc = TrainConfig(policy=PolicyConfig(obs_keys=cfg.obs_keys), steps=total,
                     warmup_steps=min(200, cfg.forward_steps // 4), eval_episodes=0,
                     threads=cfg.threads, seed=cfg.seed)
    trainer = Trainer.create(tc, demos)
    t0 = time.perf_counter()
    for _ in range(cfg.forward_steps):
        trainer.train_step()
    return trainer, demos, {"demos": cfg.forward_demos, "demo_successes": wins,
                            "train_steps": cfg.forward_steps, "train_s": round(time.perf_counter() - t0, 1)}


def run_reset_free_bench(json_path: str | Path, cfg: ResetFreeBenchConfig = ResetFreeBenchConfig(),
                         keep: Path | None = None) -> dict[str, Any]:
    """Run the whole benchmark (see the module docstring) and write its JSON to `json_path`."""
    import torch

    from robot_rl.data.store import EpisodeStore
    from robot_rl.env.robot_env import RobotEnv
    from robot_rl.resets.reset_free import FilteredBC, ResetFreeConfig, ResetFreePractice
    from robot_rl.rl.interfaces import CheckpointChunkPolicy
    from robot_rl.rl.offline import Trainer
    from robot_rl.rl.runner import practice_specs

    torch.set_num_threads(cfg.threads)
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="robot_rl_reset_free_"))
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    env = RobotEnv(cfg.task, images=False)
    try:
        trainer, demos, forward_info = train_forward(cfg, workdir, env)
        initial_path = trainer.save(workdir / "forward_initial.safetensors")
        initial = CheckpointChunkPolicy(initial_path, seed=cfg.seed)
        eval_seed = cfg.seed + 50_000
        before = evaluate_starts(env, initial, cfg.layout_seed, cfg.eval_episodes, eval_seed)
        print(f"[reset-free] forward before practice: {before}")
        backward, backward_info = train_backward(cfg, workdir, env)
        env.reset(seed=cfg.layout_seed)  # lay out the practice scene once; from here on no teleport
        pcfg = ResetFreeConfig(blocks=cfg.blocks, block_episodes=cfg.block_episodes, seed=cfg.seed,
                               log=str(workdir / "practice.jsonl"))
        with EpisodeStore.create(workdir / "practice.zarr", practice_specs(env.observation_space)) as db:
            improve = FilteredBC(trainer, demos, db, cfg.finetune_steps, workdir, seed=cfg.seed)
            result = ResetFreePractice(env, initial, backward, db, pcfg, improve).run()
            final = result_policy(improve, workdir, cfg)
            after = evaluate_starts(env, final, cfg.layout_seed, cfg.eval_episodes, eval_seed)
            print(f"[reset-free] forward after practice: {after}")
            control_row = (run_control(cfg, Trainer.load(initial_path, demos), demos, db, workdir, env,
                                       eval_seed) if cfg.control else None)
        out = summary(cfg, result, before, after, control_row, backward_info, forward_info, improve.calls)
    finally:
        env.close()
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    out["wall_s"] = round(time.perf_counter() - start, 1)
    return write_json(json_path, "reset_free", out)


def result_policy(improve: Any, workdir: Path, cfg: ResetFreeBenchConfig) -> Any:
    """The forward policy after the last block's improvement."""
    from robot_rl.rl.interfaces import CheckpointChunkPolicy

    return CheckpointChunkPolicy(workdir / f"forward_block{cfg.blocks - 1}.safetensors", seed=cfg.seed)


def run_control(cfg: ResetFreeBenchConfig, trainer: Any, demos: Any, store: Any, workdir: Path, env: Any,
                eval_seed: int) -> dict[str, Any]:
    """The initial policy fine-tuned for the same steps on the demos alone (no practice data)."""
    from robot_rl.resets.reset_free import FilteredBC

    improve = FilteredBC(trainer, demos, store, cfg.finetune_steps, workdir, name="control", seed=cfg.seed)
    policy = None
    for block in range(cfg.blocks):
        policy = improve(block, [])
    return evaluate_starts(env, policy, cfg.layout_seed, cfg.eval_episodes, eval_seed)


def summary(cfg: ResetFreeBenchConfig, result: Any, before: dict, after: dict, control: dict | None,
            backward_info: dict, forward_info: dict, improve_calls: list) -> dict[str, Any]:
    blocks = [wilson(*result.block_success(b)) for b in range(cfg.blocks)]
    return {"task": cfg.task, "config": dataclasses.asdict(cfg),
            "forward_success_before": before["rate"], "forward_success_after": after["rate"],
            "forward_before": before, "forward_after": after, "forward_control_demos_only": control,
            "practice_first_block": blocks[0], "practice_last_block": blocks[-1], "practice_blocks": blocks,
            "backward_success_rate": wilson(*result.backward_success())["rate"],
            "backward_success": wilson(*result.backward_success()),
            "forward_starts_verified": sum(r["start_ok"] for r in result.records),
            "practice_s": round(result.seconds, 1), "backward_policy": backward_info,
            "forward_policy": forward_info, "filtered_bc": improve_calls,
            "practice_successes": sum(r["forward"]["success"] and r["start_ok"] for r in result.records),
            # acceptance: better than before AND than the same fine-tuning steps on the demos alone (more
            # BC steps by themselves also raise success), with practice successes to learn from
            "improved": bool(after["rate"] > before["rate"]
                             and any(c["practice_episodes"] for c in improve_calls)
                             and (control is None or after["rate"] > control["rate"]))}
