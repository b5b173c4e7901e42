"""`robot-rl bench bc`: behaviour cloning on pick_cube in the MuJoCo mirror, end to end on CPU.

Collect scripted demonstrations (the existing `robot-rl sim collect` code) into a temporary store, train
the quick diffusion-policy config for a fixed step / wall-clock budget, evaluate the EMA policy
closed-loop, and report success with a Wilson 95% interval, train time and evaluation time.

Variants: "state" (robot + privileged object state, no images) and "images" (robot state + front and
wrist cameras at `image_size`, no privileged state).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from robot_rl.bench.common import write_json

ROBOT_STATE = ("state/ee_pos", "state/ee_quat", "state/gripper", "state/q")


def run_variant(variant: str, workdir: Path, demos: int, steps: int, minutes: float, eval_episodes: int,
                image_size: int, threads: int, seed: int, batch_size: int = 64) -> dict[str, Any]:
    import torch

    from robot_rl.env.cli import collect
    from robot_rl.policies.policy import PolicyConfig
    from robot_rl.rl.config import TrainConfig
    from robot_rl.rl.eval import evaluate
    from robot_rl.rl.offline import load_policy
    from robot_rl.rl.train_cli import make_env, train

    images = variant == "images"
    store, out = workdir / f"{variant}_demos.zarr", workdir / f"{variant}_run"
    t0 = time.perf_counter()
    collect(task="pick_cube", episodes=demos, store=store, images=images, image_size=image_size, seed=seed)
    collect_s = time.perf_counter() - t0
    obs_keys = (*ROBOT_STATE, "image/front", "image/wrist") if images else ()
    cfg = TrainConfig(policy=PolicyConfig(obs_keys=obs_keys), steps=steps, time_budget_s=minutes * 60,
                      batch_size=batch_size,
                      threads=threads, eval_episodes=0, ckpt_every=max(steps // 4, 1), seed=seed)
    t0 = time.perf_counter()
    train(store=store, out=out, task="pick_cube", cfg=cfg)
    train_s = time.perf_counter() - t0
    ckpt = out / "last.safetensors"
    policy = load_policy(ckpt)
    trained_steps = int(__import__("json").loads(ckpt.with_suffix(".json").read_text())["state"]["step"])
    torch.set_num_threads(threads)
    env = make_env("pick_cube", None, policy.shapes)
    result = evaluate(policy, env, eval_episodes, seed=10_000)  # seeds disjoint from the demos'
    env.close()
    print(f"[{variant}] {result.summary()}")
    return {"variant": variant, "demos": demos, "obs_keys": list(policy.obs_keys),
            "train_steps": trained_steps,
            "step_budget": steps, "train_minutes": train_s / 60, "collect_s": collect_s,
            "success_rate": result.success_rate, "successes": result.successes, "episodes": result.episodes,
            "ci95": list(result.ci95), "mean_length": result.mean_length, "eval_s": result.seconds,
            "plan_ms_p50": result.plan_ms_p50, "config": dataclasses.asdict(cfg)}


def run(json: Path, variants: tuple[str, ...], demos: int, steps: int, minutes: float, image_steps: int,
        image_minutes: float, eval_episodes: int, image_size: int, threads: int, seed: int,
        keep: Path | None, image_batch_size: int = 32) -> dict[str, Any]:
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="robot_rl_bc_"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"task": "pick_cube", "threads": threads, "variants": {}}
    try:
        for variant in variants:
            s, m, b = ((image_steps, image_minutes, image_batch_size) if variant == "images"
                       else (steps, minutes, 64))
            row = run_variant(variant, workdir, demos, s, m, eval_episodes, image_size, threads, seed, b)
            results["variants"][variant] = row
            results[f"{variant}_success_rate"] = row["success_rate"]
            results[f"{variant}_train_minutes"] = row["train_minutes"]
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if "state" in results["variants"]:
        results["target_state_success>=0.6"] = results["state_success_rate"] >= 0.6
    return write_json(json, "bc", results)
