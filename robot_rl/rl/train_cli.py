"""`robot-rl train` and `robot-rl eval`: offline training on an EpisodeStore and closed-loop evaluation,
in a task's MuJoCo mirror (--task) or any gymnasium environment (--env, a gymnasium id such as
"my_pkg.envs:Reach-v0", whose module registers it)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import tyro

from robot_rl.rl.config import TrainConfig

Flat = tyro.conf.arg(name="")
DEFAULT = TrainConfig()


def make_env(task: str | None, env: str | None, shapes: dict[str, tuple[int, ...]],
             render: bool = False) -> Any:
    """The evaluation environment: the task's mirror with the cameras the policy reads at the data's
    image size, or `gymnasium.make(env)`."""
    if (task is None) == (env is None):
        raise SystemExit("give exactly one of --task (a mirror task) or --env (a gymnasium id)")
    if env is not None:
        import gymnasium as gym

        return gym.make(env, render_mode="rgb_array" if render else None)
    from robot_rl.env.robot_env import RobotEnv

    images = [s for k, s in shapes.items() if k.startswith("image/")]
    size = tuple(images[0][:2]) if images else None
    return RobotEnv(task, images=bool(images), image_size=size)


def train(store: Path, out: Path = Path("out/train"), task: str | None = None, env: str | None = None,
          resume: bool = False, cfg: Annotated[TrainConfig, Flat] = DEFAULT) -> int:
    """Train the diffusion chunk policy (and optionally the chunked critic) on an EpisodeStore.

    Writes OUT/last.safetensors (+ .json) every ckpt_every steps and at the end, TensorBoard logs and
    metrics.jsonl under OUT, and evaluates in the environment every eval_every steps.

    Args:
        store: EpisodeStore (zarr) with the demonstrations.
        out: Run directory.
        task: Mirror task to evaluate in (registry name).
        env: Gymnasium environment id to evaluate in instead of a mirror task.
        resume: Continue from OUT/last.safetensors exactly where it stopped (same data, same config).
        cfg: Training configuration.
    """
    from tqdm import tqdm

    from robot_rl.data.episodes import EpisodeData
    from robot_rl.data.store import EpisodeStore
    from robot_rl.rl.offline import Trainer

    with EpisodeStore.open(store) as db:
        data = EpisodeData.from_store(db)
    last = out / "last.safetensors"
    if resume and last.exists():
        trainer = Trainer.load(last, data, cfg)
        print(f"resumed {last} at step {trainer.step}")
    else:
        trainer = Trainer.create(cfg, data)
    out.mkdir(parents=True, exist_ok=True)
    log = RunLog(out)
    eval_env = make_env(task, env, trainer.shapes) if cfg.eval_episodes > 0 and (task or env) else None
    start, evals = time.perf_counter(), []
    with tqdm(total=cfg.steps, initial=trainer.step, desc="train", unit="step") as bar:
        while trainer.step < cfg.steps:
            metrics = trainer.train_step()
            bar.update(1)
            step = trainer.step
            if step % cfg.log_every == 0 or step == cfg.steps:
                log.scalars(step, metrics)
                bar.set_postfix({k: f"{v:.4f}" for k, v in metrics.items() if k != "lr"})
            out_of_time = cfg.time_budget_s > 0 and time.perf_counter() - start > cfg.time_budget_s
            if eval_env is not None and cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.steps:
                evals.append(run_eval(trainer, eval_env, cfg, log))
            if step % cfg.ckpt_every == 0 or out_of_time:
                trainer.save(last)
            if out_of_time:
                print(f"time budget {cfg.time_budget_s:.0f} s reached at step {step}")
                break
    trainer.save(last)
    if eval_env is not None:
        evals.append(run_eval(trainer, eval_env, cfg, log))
    log.close()
    print(f"{last}: step {trainer.step}, {time.perf_counter() - start:.0f} s"
          + (f"; {evals[-1]['summary']}" if evals else ""))
    return 0


def run_eval(trainer: Any, env: Any, cfg: TrainConfig, log: RunLog) -> dict[str, Any]:
    from robot_rl.rl.eval import evaluate

    result = evaluate(trainer.ema.model.eval(), env, cfg.eval_episodes)
    log.scalars(trainer.step, {"eval/success_rate": result.success_rate,
                               "eval/mean_length": result.mean_length})
    return {"step": trainer.step, "success_rate": result.success_rate, "summary": result.summary()}


class RunLog:
    """metrics.jsonl (always) and TensorBoard event files (when the tensorboard package is installed)."""

    def __init__(self, out: Path) -> None:
        self.file = open(out / "metrics.jsonl", "a")
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out / "tb"))
        except ImportError:
            print("tensorboard is not installed: logging to metrics.jsonl only")
            self.tb = None

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self.file.write(json.dumps({"step": step, **values}) + "\n")
        self.file.flush()
        if self.tb is not None:
            for k, v in values.items():
                self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        self.file.close()
        if self.tb is not None:
            self.tb.close()


def evaluate_checkpoint(checkpoint: Path, task: str | None = None, env: str | None = None, episodes: int = 50,
                        seed: int = 1000, videos: int = 3, out: Path | None = None, steps: int | None = None,
                        json_path: Annotated[Path | None, tyro.conf.arg(name="json")] = None,
                        threads: int = 1, compile: bool = False) -> int:
    """Evaluate a checkpoint's EMA policy: success rate with a 95% Wilson interval, mean episode length,
    videos of the first episodes.

    Args:
        checkpoint: A .safetensors checkpoint written by `robot-rl train`.
        task: Mirror task to evaluate in (registry name).
        env: Gymnasium environment id to evaluate in instead of a mirror task.
        episodes: Episodes to run (episode k is reset with seed + k).
        seed: Seed of the first episode.
        videos: Episodes to record as mp4 (the first ones).
        out: Directory for videos and results (default: beside the checkpoint, eval/).
        steps: DDIM steps (default: the checkpoint's config).
        json_path: Also write the results here.
        threads: torch CPU threads (batch-1 sampling gains nothing from a second thread).
        compile: Plan with the torch.compile'd DDIM sampler (~2.5x faster per chunk on CPU; the first
            chunk waits ~30-60 s for compilation).
    """
    import dataclasses

    import torch

    from robot_rl.rl.eval import evaluate
    from robot_rl.rl.offline import load_policy

    torch.set_num_threads(threads)
    policy = load_policy(checkpoint)
    if steps is not None:
        policy.cfg = dataclasses.replace(policy.cfg, inference_steps=steps)
    out = out or checkpoint.parent / "eval"
    environment = make_env(task, env, policy.shapes, render=videos > 0)
    result = evaluate(policy, environment, episodes, seed, out / "videos", videos, compiled=compile)
    print(result.summary())
    for v in result.videos:
        print(f"  video {v}")
    record = {"checkpoint": str(checkpoint), "task": task, "env": env, **dataclasses.asdict(result)}
    out.mkdir(parents=True, exist_ok=True)
    for path in {out / "eval.json", *([json_path] if json_path else [])}:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2) + "\n")
    return 0
