"""The offline stages of `robot-rl demo` (robot_rl/demo.py runs them in order): record demonstrations,
check the store, train the diffusion chunk policy, train the success classifier from the recorder's
labels. Each is a thin call into the library command that does the same job on its own
(`robot-rl ros up sim_demo`, `robot-rl data validate/plot/export`, `robot-rl train`, `robot-rl reward
train/eval`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

HOLD_S = 1.0
"""The operator ends a demonstration once success has held this long (s of sim time), so each episode
ends with ~10 frames of the finished task: the classifier's positives."""
LAST_K = 8
"""Frames at the end of each successful demonstration labelled positive for the classifier (fewer than
the ~10 the hold leaves: the frames around the success onset are left out as ambiguous)."""


def record_demos(task: str, episodes: int, store: Path, image_size: int, ros: bool, log_dir: Path,
                 seed: int) -> dict[str, Any]:
    """Scripted demonstrations with both cameras into `store`; returns how the recording went.

    ros: the `sim_demo` graph as separate processes, the scripted expert as the operator's teleop
    device, episodes driven through the recorder's services (ros/demo_collect.py). Otherwise in-process
    with the same expert and the same hold after success (rewards/collect.py, which also stores the
    privileged per-frame `success`)."""
    from robot_rl.tasks.registry import make_task

    start = time.perf_counter()
    if ros:
        try:
            import rclpy  # noqa: F401
        except ImportError as e:
            raise SystemExit(f"robot-rl demo: recording over ROS 2 needs rclpy ({e}): install the ROS 2 "
                             "wheels (pip install -e '.[ros-wheels]') or source a ROS 2 install; --no-ros "
                             "records in-process") from e
        from robot_rl.ros.demo_collect import collect_over_ros

        out = collect_over_ros(task, episodes, store, image_size, seed=seed, hold=HOLD_S, log_dir=log_dir)
        return {"collector": "ros"} | {k: v for k, v in out.items() if k != "outcomes"}
    from robot_rl.rewards.collect import CollectConfig, collect_reward_episodes

    hold_steps = round(HOLD_S * make_task(task).config.control_hz)
    cfg = CollectConfig(episodes=episodes, kind="demo", hold_steps=hold_steps, seed=seed + 1,
                        image_size=image_size)
    counts = collect_reward_episodes(task, store, cfg)
    return {"collector": "in_process", "episodes": counts["episodes"], "successes": counts["successful"],
            "s_per_episode": (time.perf_counter() - start) / max(episodes, 1)}


def check_store(store_path: Path, out: Path) -> dict[str, Any]:
    """Validate every chunk, summarise, plot episode 0 (out/episode0.png + _frames.png) and export to the
    diffusion_policy layout; returns the summary and the export's key names. Exits on a broken store."""
    from robot_rl.data.export import export_diffusion_policy
    from robot_rl.data.plot import plot_episode
    from robot_rl.data.store import EpisodeStore
    from robot_rl.data.validate import summarize, validate_store

    problems = validate_store(store_path, deep=True, progress=True)
    errors = [p.message for p in problems if p.severity == "error"]
    if errors:
        raise SystemExit(f"robot-rl demo: the recorded store failed validation: {errors}")
    plot_episode(store_path, 0, out / "episode0.png")
    with EpisodeStore.open(store_path) as store:
        # what a diffusion_policy config reads: observations, action, reward; not the recorder's bookkeeping
        # (valid/, capture_time/, frame_number/, target/), whose camera names would clash with the images'
        keys = [k for k in store.keys if k.startswith(("state/", "image/", "depth/"))
                or k in ("action", "reward", "terminal", "time")]
        metas = store.all_meta()
        stats = {"episodes": len(metas), "steps": store.n_steps, "store_bytes": store.size_on_disk(),
                 "demo_success_rate": sum(m.success == 1 for m in metas) / max(len(metas), 1),
                 "mean_episode_length": store.n_steps / max(len(metas), 1),
                 "camera_gaps": sum(int(m.info.get("gaps", 0)) for m in metas),
                 "start_tcp_z": float(np.mean([store.read_episode(i, ["state/ee_pos"])["state/ee_pos"][0, 2]
                                              for i in range(len(metas))]))}
    names = export_diffusion_policy(store_path, out / "demos_diffusion_policy.zarr", keys, progress=True)
    return stats | {"summary": summarize(store_path), "export_names": names,
                    "warnings": [p.message for p in problems]}


def train_policy(store: Path, out: Path, task: str, steps: int, seed: int) -> Path:
    """The diffusion chunk policy on the store's state observations (images would need more compute than
    the quick run has); returns the checkpoint. `robot-rl train` with these settings."""
    from robot_rl.data.store import EpisodeStore
    from robot_rl.policies.policy import PolicyConfig
    from robot_rl.rl.config import TrainConfig
    from robot_rl.rl.train_cli import train

    with EpisodeStore.open(store) as db:
        state_keys = tuple(k for k in db.keys if k.startswith("state/"))
    cfg = TrainConfig(policy=PolicyConfig(obs_keys=state_keys), steps=steps, eval_episodes=0,
                      ckpt_every=steps, threads=1, seed=seed)
    train(store=store, out=out, task=task, cfg=cfg)
    return out / "last.safetensors"


def train_classifier(store: Path, failures: Path, out: Path, steps: int, minutes: float,
                     seed: int) -> dict[str, Any]:
    """The success classifier (both cameras) from the recorder's labels: the operator's success button,
    i.e. the last LAST_K frames of each successful episode positive, frames well before them negative
    (`robot-rl reward train`, labels auto), plus every frame of the offline policy's failed evaluation
    episodes (`failures`, `--extra-stores`): without them the classifier flagged 34 of 40 practice
    episodes as successes, 5 real. Its threshold is chosen on held-out episodes of both stores; then it
    is scored on them against the mirror's privileged predicate (`robot-rl reward eval --labels.source
    success`), with a PNG of its hardest mistakes."""
    from robot_rl.data.store import EpisodeStore
    from robot_rl.rewards.classifier import ClassifierConfig
    from robot_rl.rewards.dataset import LabelConfig
    from robot_rl.rewards.train import TrainConfig, evaluate_reward, train_reward

    with EpisodeStore.open(failures) as db:
        extra = (failures,) if db.n_episodes else ()  # a policy that never failed left none
    cfg = TrainConfig(labels=LabelConfig(last_k=LAST_K), split_seed=seed, extra_stores=extra,
                      classifier=ClassifierConfig(steps=steps, minutes=minutes, seed=seed))
    fit = train_reward(store, out, cfg)
    held_out = evaluate_reward(out, store, fit["val_episodes"], LabelConfig(source="success"),
                               png=out / "mistakes.png")
    extra = fit["extra_stores"][0] if extra else {"train_episodes": [], "val_episodes": []}
    failed = (evaluate_reward(out, failures, extra["val_episodes"], LabelConfig(source="last_k"))
              if extra["val_episodes"] else None)
    return {"model": str(out), "labels": fit["labels"]["source"], "fit": fit["fit"],
            "selection": fit["selection"], "train_episodes": len(fit["train_episodes"]),
            "val_episodes": len(fit["val_episodes"]), "held_out": held_out,
            "failed_train_episodes": len(extra["train_episodes"]),
            "failed_val_episodes": len(extra["val_episodes"]), "held_out_failures": failed}
