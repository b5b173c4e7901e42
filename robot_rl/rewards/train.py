"""Fitting any reward backend from an EpisodeStore: split by episode, fit on the training episodes, choose
the threshold for the precision target on the validation episodes (after hysteresis), save the model
directory. Zero-shot backends (clip, http_judge) fit nothing; they only get their threshold chosen."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

import numpy as np

from robot_rl.rewards.classifier import ClassifierConfig
from robot_rl.rewards.dataset import (
    Frames,
    LabelConfig,
    concat_frames,
    image_keys,
    load_frames,
    resolve_source,
)
from robot_rl.rewards.http_judge import JudgeConfig
from robot_rl.rewards.vlm_clip import ClipConfig
from robot_rl.rewards.vlm_head import HeadConfig

Backend = Literal["classifier", "vlm_head", "clip", "http_judge"]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """`robot-rl reward train`: which backend, labels, split, threshold selection."""

    backend: Backend = "classifier"
    """"classifier" (CNN), "vlm_head" (head on frozen VLM embeddings), "clip" (zero-shot prompts) or
    "http_judge" (OpenAI-compatible server); the last two only calibrate their threshold."""
    cameras: tuple[str, ...] = ()
    """Cameras to use (names or image/ keys); empty = every camera in the store (clip/judge: the first)."""
    labels: LabelConfig = LabelConfig()
    """Where per-frame labels come from."""
    extra_stores: tuple[Path, ...] = ()
    """More stores with the same cameras, split and labelled the same way and added to both sides of the
    split: e.g. failed attempts recorded apart from the demonstrations (negatives from the states the policy
    really reaches, where a classifier trained on demonstrations alone flags false successes)."""
    val_fraction: float = 0.2
    """Fraction of episodes held out to choose the threshold."""
    split_seed: int = 0
    """Seed of the train/validation split by episode."""
    target_precision: float = 0.99
    """Per-frame precision (after hysteresis) the threshold must reach on the validation episodes."""
    target_first_flag: float = 0.99
    """First-flag precision it must reach there too: the fraction of episodes whose first flag (where
    `LearnedReward` ends the episode) falls on a success frame; 0 = per-frame precision only."""
    k: tuple[int, ...] = (1, 2, 3)
    """Hysteresis candidates (consecutive frames above threshold before success is declared): a threshold
    is chosen for each on the validation episodes, and the k whose choice meets the precision target with
    the highest recall is saved (ties: the smaller k). One value fixes k."""
    min_threshold: float = 0.5
    """The threshold never goes below this (margin when validation separates perfectly); 0 for
    uncalibrated scores such as the CLIP projection reward."""
    recall_slack: float = 0.02
    """Recall (fraction) the threshold may give up on validation for margin against near-success negatives:
    the highest threshold whose recall stays within this of the best one meeting the precision target
    (0 = the lowest passing threshold); see `robot_rl.rewards.hysteresis.choose_threshold`."""
    classifier: ClassifierConfig = ClassifierConfig()
    """backend=classifier settings."""
    head: HeadConfig = HeadConfig()
    """backend=vlm_head settings."""
    clip: ClipConfig = ClipConfig()
    """backend=clip settings."""
    judge: JudgeConfig = JudgeConfig()
    """backend=http_judge settings."""


def train_reward(store_path: Path, out: Path, cfg: TrainConfig) -> dict[str, Any]:
    """Fit `cfg.backend` on `store_path` (+ `cfg.extra_stores`), save to `out`; returns the summary written
    into reward.json."""
    from robot_rl.data.store import EpisodeStore
    from robot_rl.rewards.base import save_model_dir
    from robot_rl.rewards.evaluate import predict_frames
    from robot_rl.rewards.hysteresis import choose_hysteresis

    fits = cfg.backend in ("classifier", "vlm_head")
    with EpisodeStore.open(store_path) as store:
        cams = image_keys(store, cfg.cameras)
        if cfg.backend in ("clip", "http_judge") and not cfg.cameras:
            cams = cams[:1]
        prompt = store.attrs.get("prompt", "")
    parts = [_split_frames(path, cams, cfg, fits) for path in (store_path, *cfg.extra_stores)]
    train = concat_frames([p[0] for p in parts]) if fits else None
    val = concat_frames([p[1] for p in parts])
    main, labels = parts[0][2], dataclasses.replace(cfg.labels, source=parts[0][2]["labels"])
    scorer, config, weights, log = _fit(cfg, train, cams, prompt)
    probs = predict_frames(scorer, val)
    choice = choose_hysteresis(probs, val.labels, val.episode_ends, cfg.k, cfg.target_precision,
                               cfg.min_threshold, cfg.recall_slack, cfg.target_first_flag)
    summary = {"store": str(store_path), "labels": dataclasses.asdict(labels),
               "train_episodes": main["train_episodes"], "val_episodes": main["val_episodes"],
               "extra_stores": [p[2] for p in parts[1:]], "fit": log, "selection": dataclasses.asdict(choice),
               "target_precision": cfg.target_precision, "target_first_flag": cfg.target_first_flag}
    save_model_dir(out, _KIND[cfg.backend], choice.threshold, choice.k, config, weights, **summary)
    return summary


def _split_frames(path: Path, cams: tuple[str, ...], cfg: TrainConfig,
                  fits: bool) -> tuple[Frames | None, Frames, dict[str, Any]]:
    """(training frames or None, validation frames, {store, labels, train/val episode ids}) of one store."""
    from robot_rl.data.episodes import split_episodes
    from robot_rl.data.store import EpisodeStore

    with EpisodeStore.open(path) as store:
        image_keys(store, cams)  # every store must have the cameras: a clear error, not a KeyError deep down
        train_ids, val_ids = split_episodes(store.n_episodes, cfg.val_fraction, cfg.split_seed)
        labels = dataclasses.replace(cfg.labels, source=resolve_source(store, cfg.labels))
        train = load_frames(store, train_ids, cams, labels) if fits else None
        val = load_frames(store, val_ids, cams, labels)
    return train, val, {"store": str(path), "labels": labels.source, "train_episodes": train_ids.tolist(),
                        "val_episodes": val_ids.tolist()}


_KIND = {"classifier": "classifier", "vlm_head": "vlm_head", "clip": "clip", "http_judge": "http_judge"}


def _fit(cfg: TrainConfig, train: Frames | None, cams: tuple[str, ...], prompt: str):
    """(scorer, config JSON, weights or None, fit log) for the backend."""
    if cfg.backend == "classifier":
        from robot_rl.rewards.classifier import classifier_config_json, classifier_weights, train_classifier

        scorer, log = train_classifier(train, cfg.classifier)
        return scorer, classifier_config_json(scorer, cfg.classifier), classifier_weights(scorer), log
    if cfg.backend == "vlm_head":
        from robot_rl.rewards.vlm_head import train_head

        scorer, log = train_head(train, cfg.head)
        return scorer, scorer.config_json(), scorer.weights(), log
    if cfg.backend == "clip":
        from robot_rl.rewards.vlm_clip import ClipScorer

        c = cfg.clip if cfg.clip.goal else dataclasses.replace(cfg.clip, goal=(prompt,))
        scorer = ClipScorer(c, cams)
        return scorer, scorer.config_json(), None, {"zero_shot": True, "goal": list(c.goal)}
    from robot_rl.rewards.http_judge import HttpJudge

    j = cfg.judge if cfg.judge.task else dataclasses.replace(cfg.judge, task=prompt)
    scorer = HttpJudge(j, cams)
    return scorer, scorer.config_json(), None, {"zero_shot": True, "task": j.task}


def evaluate_reward(model: Path, store_path: Path, episodes: np.ndarray | None = None,
                    labels: LabelConfig | None = None, png: Path | None = None,
                    threshold: float | None = None, k: int | None = None,
                    other_k: tuple[int, ...] = ()) -> dict[str, Any]:
    """Metrics of a saved reward model on `episodes` (default all) of a store; optional mistakes PNG.
    `other_k`: also per-frame precision/recall with these hysteresis lengths at the same threshold
    (`by_k`), to show what the saved k trades."""
    from robot_rl.data.store import EpisodeStore
    from robot_rl.rewards.base import load_reward
    from robot_rl.rewards.evaluate import hardest_mistakes, metrics, predict_frames

    labels = labels or LabelConfig()
    reward = load_reward(model, threshold, k)
    with EpisodeStore.open(store_path) as store:
        ids = np.arange(store.n_episodes) if episodes is None else np.asarray(episodes)
        frames = load_frames(store, ids, reward.cameras, labels)
        source = resolve_source(store, labels)
    probs = predict_frames(reward.scorer, frames)
    out = metrics(probs, frames, reward.threshold, reward.k) | {"labels": source, "model": str(model),
                                                                 "kind": reward.kind}
    by_k = {kk: metrics(probs, frames, reward.threshold, kk) for kk in other_k}
    out["by_k"] = {kk: {x: m[x] for x in ("precision", "recall", "first_flag_precision", "first_flag_recall")}
                   for kk, m in by_k.items()}
    if png is not None:
        out["mistakes_png"] = str(hardest_mistakes(probs, frames, reward.threshold, png))
    return out


def calibrate_reward(model: Path, store_path: Path, episodes: np.ndarray | None = None,
                     labels: LabelConfig | None = None, target_precision: float = 0.99, k: int | None = None,
                     min_threshold: float = 0.5, recall_slack: float = 0.02,
                     target_first_flag: float = 0.99) -> dict[str, Any]:
    """Choose a saved model's threshold again on labelled episodes (default: the validation episodes it
    was trained with, when `store_path` is its training store, else every episode) and rewrite reward.json."""
    from robot_rl.data.store import EpisodeStore
    from robot_rl.rewards.base import MODEL_FILE, load_reward, write_json_atomic
    from robot_rl.rewards.evaluate import predict_frames
    from robot_rl.rewards.hysteresis import choose_threshold

    reward = load_reward(model, k=k)
    meta = reward.meta
    with EpisodeStore.open(store_path) as store:
        if episodes is None:
            same = Path(meta.get("store", "")).resolve() == Path(store_path).resolve()
            episodes = np.asarray(meta["val_episodes"]) if same else np.arange(store.n_episodes)
        frames = load_frames(store, episodes, reward.cameras, labels or LabelConfig())
    probs = predict_frames(reward.scorer, frames)
    choice = choose_threshold(probs, frames.labels, frames.episode_ends, reward.k, target_precision,
                              min_threshold, recall_slack, target_first_flag)
    meta = meta | {"threshold": choice.threshold, "k": reward.k, "selection": dataclasses.asdict(choice),
                   "target_precision": target_precision, "target_first_flag": target_first_flag,
                   "calibrated_on": {"store": str(store_path), "episodes": np.asarray(episodes).tolist()}}
    write_json_atomic(Path(model) / MODEL_FILE, meta)
    return meta
