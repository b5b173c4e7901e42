"""`robot-rl bench reward`: per task, record demos (+ noisy and stalled failures) on the mirror, train the
success classifier from the recorder's labels, and evaluate it per frame against privileged success on
held-out episodes (different scenes, recorded separately)."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from robot_rl.rewards.classifier import ClassifierConfig
from robot_rl.rewards.collect import CollectConfig, collect_reward_episodes
from robot_rl.rewards.dataset import LabelConfig
from robot_rl.rewards.train import TrainConfig, evaluate_reward, train_reward


@dataclasses.dataclass(frozen=True)
class RewardBenchConfig:
    """What the reward benchmark records, trains and evaluates."""

    tasks: tuple[str, ...] = ("pick_cube", "peg_insert", "drawer_open")
    """Mirror tasks."""
    demos: int = 50
    """Clean expert demos per task in the training store."""
    noisy: int = 10
    """Expert episodes with action noise 0.3 in the training store (some fail)."""
    stalls: int = 10
    """Episodes where the expert stops midway (near misses) in the training store."""
    test_demos: int = 10
    """Held-out clean demos (new scenes)."""
    test_noisy: int = 10
    """Held-out noisy episodes."""
    test_stalls: int = 10
    """Held-out stalled episodes."""
    image_size: int = 64
    """Camera image side, pixels."""
    steps: int = 1500
    """Classifier training steps per task."""
    minutes: float = 8.0
    """Classifier wall-clock budget per task."""
    k: int = 3
    """Hysteresis frames."""
    target_precision: float = 0.99
    """Precision target when choosing the threshold on validation episodes."""
    labels: str = "reward"
    """Training labels: "reward" (recorder per-step reward) or "last_k" (episode success flag only)."""
    threads: int = 1
    """torch CPU threads (on the shared 2-core machine one thread trained 4x faster than two)."""


def run_reward_bench(json_path: Path, cfg: RewardBenchConfig, keep: Path | None = None) -> dict[str, Any]:
    import torch

    from robot_rl.bench.common import write_json

    torch.set_num_threads(cfg.threads)
    root = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="reward_bench_"))
    results: dict[str, Any] = {"config": dataclasses.asdict(cfg), "tasks": {}}
    try:
        for task in cfg.tasks:
            results["tasks"][task] = _one_task(task, root / task, cfg)
            print(f"{task}: {results['tasks'][task]['test']}", flush=True)
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    for task, r in results["tasks"].items():
        for key in ("precision", "recall", "frame_fpr", "episode_fp_rate"):
            results[f"{task}_{key}"] = r["test"][key]
        results[f"{task}_train_seconds"] = r["train_seconds"]
    write_json(json_path, "reward", results)
    return results


def _one_task(task: str, root: Path, cfg: RewardBenchConfig) -> dict[str, Any]:
    train_store, test_store = root / "train.zarr", root / "test.zarr"
    t0 = time.monotonic()
    size = cfg.image_size
    plan = ((train_store, 0, (cfg.demos, cfg.noisy, cfg.stalls)),
            (test_store, 100_000, (cfg.test_demos, cfg.test_noisy, cfg.test_stalls)))
    for store, seed, counts in () if (root / "collected").exists() else plan:
        kinds = (("demo", 0.0, 0), ("demo", 0.3, 1000), ("stall", 0.0, 2000))
        for n, (kind, noise, offset) in zip(counts, kinds, strict=True):
            c = CollectConfig(n, kind, noise, seed=seed + offset, image_size=size)
            collect_reward_episodes(task, store, c)
    (root / "collected").touch()  # a rerun with --keep reuses the stores
    collect_s = time.monotonic() - t0
    tcfg = TrainConfig(labels=LabelConfig(source=cfg.labels), k=cfg.k, target_precision=cfg.target_precision,
                       classifier=ClassifierConfig(steps=cfg.steps, minutes=cfg.minutes))
    t1 = time.monotonic()
    summary = train_reward(train_store, root / "model", tcfg)
    train_s = time.monotonic() - t1
    test = evaluate_reward(root / "model", test_store, labels=LabelConfig(source="success"),
                           png=root / "mistakes.png")
    return {"collect_seconds": collect_s, "train_seconds": train_s, "fit": summary["fit"],
            "selection": summary["selection"], "test": test}
