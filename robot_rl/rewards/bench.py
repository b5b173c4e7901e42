"""`robot-rl bench reward`: per task, record demos (+ noisy and stalled failures) on the mirror, train the
success classifier from the recorder's labels, and evaluate it per frame against privileged success on
held-out episodes (different scenes, recorded separately).

The threshold and the hysteresis length k are chosen on validation episodes of the training store only;
the held-out store is read once, for the reported numbers. Per frame is the acceptance measure (issue #8);
`first_flag_*` says what an RL episode that ends at the first flag would get (`evaluate.metrics`).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class RewardBenchConfig:
    """What the reward benchmark records, trains and evaluates."""

    tasks: tuple[str, ...] = ("pick_cube", "peg_insert", "drawer_open")
    """Mirror tasks."""
    demos: int = 50
    """Clean expert demos per task in the training store."""
    noisy: int = 40
    """Expert episodes with action noise 0.3 in the training store (many fail; peg_insert drops the peg,
    into the hole or beside it, and flings the arm). With 10, the training split held no noisy peg_insert
    success and held-out noisy episodes were missed or falsely flagged whole."""
    stalls: int = 30
    """Episodes where the expert stops midway (near misses) in the training store."""
    test_seed: int = 500_000
    """Seed of the first held-out episode (the training store starts at 0). Seeds 100 000+ (the earlier
    held-out set) and 300 000+ were looked at while choosing the settings below; these scenes were not."""
    test_demos: int = 20
    """Held-out clean demos (new scenes)."""
    test_noisy: int = 20
    """Held-out noisy episodes."""
    test_stalls: int = 20
    """Held-out stalled episodes (some creep into success: the arm sags under zero-motion commands)."""
    image_size: int = 64
    """Camera image side, pixels."""
    steps: int = 1500
    """Classifier training steps per task."""
    minutes: float = 30.0
    """Classifier wall-clock cap per task, against a runaway (1500 steps took 5 min on the shared machine
    under light load, 20 min beside other heavy jobs); `<task>_fit_steps` says if it cut training short."""
    onset_negatives: float = 0.25
    """Fraction of each batch's negatives taken from the 5 frames before success (ClassifierConfig). With 0
    and 40 noisy episodes, the peg_insert classifier fired 1-3 frames before success in clean demos."""
    k: tuple[int, ...] = (1, 2, 3)
    """Hysteresis candidates; the one meeting the precision target on validation with the highest recall
    is used."""
    target_precision: float = 0.99
    """Precision target when choosing the threshold on validation episodes."""
    target_first_flag: float = 0.99
    """First-flag precision target there (TrainConfig.target_first_flag)."""
    recall_slack: float = 0.02
    """Validation recall the threshold may give up for margin (TrainConfig.recall_slack)."""
    labels: str = "reward"
    """Training labels: "reward" (recorder per-step reward) or "last_k" (episode success flag only)."""
    threads: int = 1
    """torch CPU threads (on the shared 2-core machine one thread trained 4x faster than two)."""
    accept_precision: float = 0.98
    """Acceptance (issue #8): held-out precision at least this, per task."""
    accept_recall: float = 0.90
    """Acceptance (issue #8): held-out recall at least this, per task."""


def run_reward_bench(json_path: Path, cfg: RewardBenchConfig, keep: Path | None = None) -> dict[str, Any]:
    import torch

    from robot_rl.bench.common import write_json

    torch.set_num_threads(cfg.threads)
    t0, cpu0 = time.monotonic(), time.process_time()
    root = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="reward_bench_"))
    results: dict[str, Any] = {"config": dataclasses.asdict(cfg), "tasks": {}}
    try:
        for task in cfg.tasks:
            png = Path(json_path).with_name(f"{Path(json_path).stem}_mistakes_{task}.png")
            results["tasks"][task] = r = _one_task(task, root / task, cfg, png)
            t = r["test"]
            print(f"{task}: precision {t['precision']!s:.6}, recall {t['recall']!s:.6} (k={t['k']}, "
                  f"threshold {t['threshold']:.3f}); {r['collect_seconds'] + r['train_seconds']:.0f} s",
                  flush=True)
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    keys = ("precision", "recall", "threshold", "k", "frame_fpr", "episode_fp_rate", "delay_mean",
            "first_flag_precision", "first_flag_recall")
    for task, r in results["tasks"].items():
        test = r["test"]
        results |= {f"{task}_{key}": test[key] for key in keys}
        results[f"{task}_seconds"] = r["collect_seconds"] + r["train_seconds"] + r["eval_seconds"]
        results[f"{task}_fit_steps"] = r["fit"]["steps"]
        results[f"{task}_passed"] = bool((test["precision"] or 0.0) >= cfg.accept_precision
                                         and (test["recall"] or 0.0) >= cfg.accept_recall)
    results["wall_seconds"] = time.monotonic() - t0
    results["cpu_seconds"] = time.process_time() - cpu0  # the wall time depends on what else runs
    write_json(json_path, "reward", results)
    return results


def _one_task(task: str, root: Path, cfg: RewardBenchConfig, png: Path) -> dict[str, Any]:
    from robot_rl.rewards.classifier import ClassifierConfig  # torch: imported when the bench runs
    from robot_rl.rewards.dataset import LabelConfig
    from robot_rl.rewards.train import TrainConfig, evaluate_reward, train_reward

    train_store, test_store = root / "train.zarr", root / "test.zarr"
    t0 = time.monotonic()
    counts = _collect(task, root, cfg)
    collect_s = time.monotonic() - t0
    classifier = ClassifierConfig(steps=cfg.steps, minutes=cfg.minutes, onset_negatives=cfg.onset_negatives)
    tcfg = TrainConfig(labels=LabelConfig(source=cfg.labels), k=cfg.k, target_precision=cfg.target_precision,
                       recall_slack=cfg.recall_slack, target_first_flag=cfg.target_first_flag,
                       classifier=classifier)
    t1 = time.monotonic()
    summary = train_reward(train_store, root / "model", tcfg)
    train_s = time.monotonic() - t1
    t2 = time.monotonic()
    test = evaluate_reward(root / "model", test_store, labels=LabelConfig(source="success"), png=png,
                           other_k=(1, 2, 3))
    return {"collect_seconds": collect_s, "train_seconds": train_s, "eval_seconds": time.monotonic() - t2,
            "episodes": counts, "fit": summary["fit"], "selection": summary["selection"], "test": test}


def _collect(task: str, root: Path, cfg: RewardBenchConfig) -> dict[str, Any]:
    """Record the training and held-out stores of `task` under `root`, unless a previous run with the same
    plan did (`--keep`). Returns the counts `collect_reward_episodes` reported, per store and kind."""
    import json

    from robot_rl.rewards.collect import CollectConfig, collect_reward_episodes

    kinds = (("demo", 0.0, 0), ("demo", 0.3, 1000), ("stall", 0.0, 2000))
    plan = {"train": (0, (cfg.demos, cfg.noisy, cfg.stalls)),
            "test": (cfg.test_seed, (cfg.test_demos, cfg.test_noisy, cfg.test_stalls))}
    spec = json.dumps({"plan": plan, "image_size": cfg.image_size})
    marker = root / "collected.json"
    if marker.exists():
        done = json.loads(marker.read_text())
        if json.dumps(done["spec"]) != json.dumps(json.loads(spec)):
            raise ValueError(f"{root} holds stores recorded with another plan ({done['spec']}); "
                             "use another --keep directory")
        return done["counts"]
    for name in plan:  # the partial stores of an interrupted run: episodes would be appended twice
        shutil.rmtree(root / f"{name}.zarr", ignore_errors=True)
    counts: dict[str, Any] = {}
    for name, (seed, ns) in plan.items():
        for n, (kind, noise, offset) in zip(ns, kinds, strict=True):
            c = CollectConfig(n, kind, noise, seed=seed + offset, image_size=cfg.image_size)
            counts[f"{name}_{kind}_noise{noise}"] = collect_reward_episodes(task, root / f"{name}.zarr", c)
    marker.write_text(json.dumps({"spec": json.loads(spec), "counts": counts}))
    return counts
