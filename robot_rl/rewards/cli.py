"""`robot-rl reward ...`: train, evaluate and apply success rewards from camera frames."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import tyro

from robot_rl.data.errors import StoreError
from robot_rl.rewards.collect import CollectConfig
from robot_rl.rewards.dataset import LabelConfig
from robot_rl.rewards.http_judge import JudgeConfig, JudgeError
from robot_rl.rewards.preference import PreferenceConfig
from robot_rl.rewards.train import TrainConfig
from robot_rl.tasks.registry import TASKS

Flat = tyro.conf.arg(name="")
TaskName = Literal[tuple(TASKS)]  # type: ignore[valid-type]


def train(store: Path, out: Path, cfg: Annotated[TrainConfig, Flat]) -> int:
    """Fit a success reward on a store's labelled episodes and choose its threshold for the precision target
    on held-out episodes; writes a model directory (reward.json + model.safetensors).

    Args:
        store: EpisodeStore with camera frames and labels (see --labels.source).
        out: Model directory to write.
        cfg: Backend, labels, split and threshold settings.
    """
    import torch

    torch.set_num_threads(min(2, torch.get_num_threads()))
    try:
        summary = train_reward(store, out, cfg)
    except (FileNotFoundError, KeyError, ValueError, StoreError, JudgeError) as e:
        print(f"robot-rl reward train: {e}", file=sys.stderr)
        return 1
    sel = summary["selection"]
    print(f"{out}: {cfg.backend}, threshold {sel['threshold']:.4f} (k={sel['k']}) with validation precision "
          f"{sel['precision']:.3f}, recall {sel['recall']:.3f}, first-flag precision "
          f"{sel['first_flag_precision']:.3f}" + ("" if sel["met_target"] else
                                                  f" — precision targets {cfg.target_precision} (per frame), "
                                                  f"{cfg.target_first_flag} (first flag) NOT met"))
    return 0


def train_reward(store: Path, out: Path, cfg: TrainConfig) -> dict:
    from robot_rl.rewards.train import train_reward as _train

    return _train(store, out, cfg)


def eval(model: Path, store: Path, labels: LabelConfig, episodes: tuple[int, ...] = (),
         png: Path | None = None, json_out: Annotated[Path | None, tyro.conf.arg(name="json")] = None,
         threshold: float | None = None, k: int | None = None) -> int:
    """Precision, recall and frame false-positive rate (after hysteresis), false-positive rate per
    episode, and a PNG of the hardest mistakes, of a reward model on a store.

    Args:
        model: Reward model directory.
        store: EpisodeStore to evaluate on (held-out episodes).
        labels: Where the ground truth comes from ("success" = privileged per-frame predicate on the mirror).
        episodes: Episode indices (default: all).
        png: Write the hardest mistakes here.
        json_out: Write the metrics here (JSON).
        threshold: Override the model's threshold.
        k: Override the model's hysteresis length.
    """
    import numpy as np

    from robot_rl.rewards.train import evaluate_reward

    try:
        m = evaluate_reward(model, store, np.array(episodes) if episodes else None, labels, png, threshold, k)
    except (FileNotFoundError, KeyError, ValueError, StoreError, JudgeError) as e:
        print(f"robot-rl reward eval: {e}", file=sys.stderr)
        return 1
    text = json.dumps(m, indent=2)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(text)
    print(text)
    return 0


def calibrate(model: Path, store: Path, labels: LabelConfig, episodes: tuple[int, ...] = (),
              target_precision: float = 0.99, k: int | None = None, min_threshold: float = 0.5,
              recall_slack: float = 0.02, target_first_flag: float = 0.99) -> int:
    """Choose a saved reward model's threshold again for a precision target on labelled episodes (e.g. new
    operator-labelled episodes from the rig) and update its reward.json.

    Args:
        model: Reward model directory (updated in place, atomically).
        store: EpisodeStore with labelled episodes.
        labels: Where the labels come from.
        episodes: Episode indices (default: the model's validation episodes on its training store, else
            all).
        target_precision: Per-frame precision (after hysteresis) to reach.
        k: New hysteresis length (default: keep the model's).
        min_threshold: Lower bound of the threshold.
        recall_slack: Recall the threshold may give up for margin (0 = the lowest passing threshold).
        target_first_flag: Fraction of episodes whose first flag falls on a success frame, to reach too.
    """
    import numpy as np

    from robot_rl.rewards.train import calibrate_reward

    try:
        ids = np.array(episodes) if episodes else None
        meta = calibrate_reward(model, store, ids, labels, target_precision, k, min_threshold,
                                recall_slack, target_first_flag)
    except (FileNotFoundError, KeyError, ValueError, StoreError, JudgeError) as e:
        print(f"robot-rl reward calibrate: {e}", file=sys.stderr)
        return 1
    sel = meta["selection"]
    print(f"{model}: threshold {sel['threshold']:.4f} (k={meta['k']}), precision {sel['precision']:.3f}, "
          f"recall {sel['recall']:.3f}, first-flag precision {sel['first_flag_precision']:.3f}"
          + ("" if sel["met_target"] else f" — targets {target_precision}, {target_first_flag} NOT met"))
    return 0


def relabel(model: Path, src: Path, dst: Path, mode: Literal["prob", "flag"] = "prob") -> int:
    """Write a copy of a store whose `reward` comes from a reward model (the source store is not modified).

    Args:
        model: Reward model directory.
        src: Store to read.
        dst: New store to write (must not exist).
        mode: "prob" = success probability, "flag" = 1 where the hysteresis flag is up.
    """
    from robot_rl.rewards.base import load_reward
    from robot_rl.rewards.relabel import relabel_store

    try:
        out = relabel_store(src, dst, load_reward(model), mode)
    except (FileNotFoundError, FileExistsError, KeyError, ValueError, StoreError, JudgeError) as e:
        print(f"robot-rl reward relabel: {e}", file=sys.stderr)
        return 1
    print(f"{dst}: {out['episodes']} episodes relabelled from {src} (reward sum {out['reward_sum']:.1f})")
    return 0


def prefer(store: Path, out: Path, cfg: Annotated[PreferenceConfig, Flat], labels: LabelConfig,
           judge: JudgeConfig, labeller: Literal["labels", "judge"] = "labels", cameras: tuple[str, ...] = (),
           k: int = 3, threshold: float = 0.5) -> int:
    """Train a Bradley–Terry reward model from preference labels on frame pairs (RL-VLM-F) and save it.

    Args:
        store: EpisodeStore with camera frames.
        out: Model directory to write.
        cfg: Pairs and network settings.
        labels: Label source for labeller=labels.
        judge: Server settings for labeller=judge.
        labeller: "labels" (the store's success labels) or "judge" (an OpenAI-compatible VLM server).
        cameras: Cameras to use (default: all in the store).
        k: Hysteresis length saved with the model.
        threshold: Threshold on σ(r) saved with the model.
    """
    import dataclasses

    from robot_rl.data.store import EpisodeStore
    from robot_rl.rewards import preference as pf
    from robot_rl.rewards.base import save_model_dir
    from robot_rl.rewards.classifier import classifier_config_json, classifier_weights
    from robot_rl.rewards.dataset import image_keys, load_frames
    from robot_rl.rewards.http_judge import HttpJudge

    with EpisodeStore.open(store) as db:
        cams = image_keys(db, cameras)
        frames = load_frames(db, range(db.n_episodes), cams, labels)
        task = db.attrs.get("prompt", "")
    if labeller == "labels":
        prefs = pf.collect_preferences(frames, pf.label_labeller(frames.labels), cfg.pairs, by_index=True)
    else:
        j = HttpJudge(judge if judge.task else dataclasses.replace(judge, task=task), cams)
        prefs = pf.collect_preferences(frames, pf.judge_labeller(j), cfg.pairs)
    scorer, log = pf.train_bradley_terry(frames, prefs, cfg)
    save_model_dir(out, "preference", threshold, k, classifier_config_json(scorer, cfg.net),
                   classifier_weights(scorer), fit=log, store=str(store))
    print(f"{out}: Bradley–Terry reward from {log['pairs']} pairs, pair accuracy "
          f"{log['pair_accuracy_first']:.2f} → {log['pair_accuracy_last']:.2f}")
    return 0


def collect(task: TaskName, store: Path, cfg: Annotated[CollectConfig, Flat]) -> int:
    """Mirror episodes for reward learning: the expert continues past success (or stalls midway), and each
    frame carries the privileged success predicate (`success` key) for evaluation.

    Args:
        task: Registered task name.
        store: Store directory (created, or appended to with the same keys).
        cfg: Episode kind, count, noise and image size.
    """
    from robot_rl.rewards.collect import collect_reward_episodes

    counts = collect_reward_episodes(task, store, cfg)
    print(f"{store}: {counts['episodes']} {cfg.kind} episodes of {task} ({counts['successful']} successful, "
          f"{counts['success_frames']}/{counts['frames']} successful frames)")
    return 0


COMMANDS = {"train": train, "eval": eval, "calibrate": calibrate, "relabel": relabel, "prefer": prefer,
            "collect": collect}
