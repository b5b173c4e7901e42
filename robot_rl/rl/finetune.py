"""In-process actor/learner for the mirror (DESIGN §2, §5): practice episodes through the shared
EpisodeRunner with the learner's own networks acting, each followed by a verified reset, the episode
handed to the learner, then the updates it earned (UTD per environment step).

Also: closed-loop evaluation of an actor on fixed seeds (not stored, not learned from) and the
learning-curve plot.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.rl.eval import wilson_interval
from robot_rl.rl.learner import Learner


@dataclasses.dataclass(frozen=True)
class FinetuneConfig:
    """A fine-tuning run's budget and book-keeping."""

    episodes: int = 200
    """Practice episodes at most."""
    env_steps: int = 0
    """Stop once this many environment steps were collected (0 = no limit)."""
    time_budget_s: float = 0.0
    """Wall-clock budget (s; 0 = no limit): no episode starts that would end after it, judged by the longest
    of the last 10 episodes with their updates."""
    window: int = 20
    """Episodes in the rolling success rate shown and logged."""
    ckpt_every: int = 25
    """Episodes between learner checkpoints (one is always written at the end)."""
    seed: int = 0
    """Seeds the runner (first scene, resets) and the actor's sampling noise."""
    progress: bool = True
    """Show a tqdm progress bar."""


def practice(learner: Learner, env: Any, reward: Any, reset: Any, store: Any, cfg: FinetuneConfig,
             out: Path | None = None, teleop: Any = None, label: str = "") -> list[dict[str, Any]]:
    """Alternate practice episodes and updates; returns one record per episode (also appended to
    OUT/episodes.jsonl, with checkpoints at OUT/learner.safetensors)."""
    from tqdm import tqdm

    from robot_rl.resets.base import is_mirror
    from robot_rl.resets.verify import verified_reset
    from robot_rl.rl.learner_ckpt import save
    from robot_rl.rl.runner import EpisodeRunner, RunnerConfig

    actor = learner.actor(cfg.seed)
    runner = EpisodeRunner(env, actor, reward, reset, store, RunnerConfig(episodes=1, seed=cfg.seed,
                                                                          progress=False), teleop=teleop,
                           episode_info={"algo": learner.cfg.algo})
    if is_mirror(env):
        env.reset(seed=cfg.seed)
    log = open(out / "episodes.jsonl", "a") if out else None  # noqa: SIM115 (closed below)
    records: list[dict[str, Any]] = []
    start = last = time.perf_counter()
    took: list[float] = []
    bar = tqdm(total=cfg.episodes, desc=f"finetune {label or learner.cfg.algo}", unit="ep",
               disable=not cfg.progress)
    try:
        for k in range(cfg.episodes):
            if learner.critic is not None and learner.critic_steps == 0 and not learner.warming_up:
                learner.pretrain_critic()  # on the demos + the warm-up episodes (WSRL)
            # During WSRL warm-up the starting policy collects on its own: a critic trained on
            # successful demos only has seen no failure to rank samples against.
            actor.n_samples = 1 if learner.warming_up else learner.cfg.n_samples
            actor.q_values.clear()
            rec = runner.run_episode(k)
            report = verified_reset(env, reset, runner.verifier, runner.rng, runner.config.verify)
            rec["reset"] = report.to_json()
            learner.add_episode(store.read_episode(rec["store_index"]), rec["success"])
            metrics = learner.train_pending()
            records.append(episode_record(rec, learner, metrics, actor.q_values, time.perf_counter() - start))
            if log:
                log.write(json.dumps(records[-1]) + "\n")
                log.flush()
            bar.update(1)
            bar.set_postfix(postfix(records, cfg.window))
            if out and (k + 1) % cfg.ckpt_every == 0:
                save(learner, out / "learner.safetensors")
            if not report.verified:  # never practise from an unknown scene
                print(f"stopping: the reset after episode {k} could not be verified: {rec['reset']}")
                break
            now = time.perf_counter()
            took, last = [*took[-9:], now - last], now
            if (cfg.env_steps and learner.env_steps >= cfg.env_steps) or \
                    not next_fits(now - start, took, cfg.time_budget_s):
                break
    finally:
        bar.close()
        if log:
            log.close()
    if out:
        save(learner, out / "learner.safetensors")
    return records


def next_fits(elapsed: float, took: list[float], budget: float) -> bool:
    """Whether another episode fits in a wall-clock budget (s; 0 = none), `elapsed` s into it: the longest
    of the recent episodes `took` (s, with their updates) is the estimate of the next one."""
    return not budget or elapsed + max(took, default=0.0) <= budget


def episode_record(rec: dict[str, Any], learner: Learner, metrics: list[dict[str, float]], q: list[float],
                   seconds: float) -> dict[str, Any]:
    mean = {k: float(np.mean([m[k] for m in metrics])) for k in (metrics[0] if metrics else {})}
    return {"episode": learner.episodes, "success": bool(rec["success"]), "length": rec["length"],
            "intervention_steps": rec["intervention_steps"], "env_steps": learner.env_steps,
            "updates": learner.step, "seconds": round(seconds, 2),
            "q_chosen": float(np.mean(q)) if q else None, "reset": rec.get("reset"), **mean}


def postfix(records: list[dict[str, Any]], window: int) -> dict[str, str]:
    last = records[-window:]
    q = [r["q_chosen"] for r in last if r["q_chosen"] is not None]
    hours = max(records[-1]["seconds"], 1e-9) / 3600
    return {"success": f"{np.mean([r['success'] for r in last]):.0%}", "ep/h": f"{len(records) / hours:.0f}",
            "Q": f"{np.mean(q):.3f}" if q else "-", "upd": str(records[-1]["updates"])}


def evaluate_actor(actor: Any, env: Any, episodes: int, seed: int = 10_000,
                   n_action_steps: int = 8) -> dict[str, Any]:
    """Success rate of a ChunkPolicy over `episodes` mirror episodes (episode k reset with seed + k),
    executing n_action_steps per chunk; the task's success predicate ends an episode."""
    wins, lengths, start = 0, [], time.perf_counter()
    for k in range(episodes):
        obs, info = env.reset(seed=seed + k)
        actor.reset()
        done, steps = False, 0
        while not done:
            for action in actor(obs)[:n_action_steps]:
                obs, _, terminated, truncated, info = env.step(np.clip(action, -1, 1))
                actor.observe(obs)
                steps += 1
                done = terminated or truncated
                if done:
                    break
        wins += bool(info.get("success", False))
        lengths.append(steps)
    lo, hi = wilson_interval(wins, episodes)
    return {"episodes": episodes, "successes": wins, "success_rate": wins / max(episodes, 1),
            "ci95": [lo, hi], "mean_length": float(np.mean(lengths)), "seconds": time.perf_counter() - start}


def plot_curves(curves: dict[str, list[dict[str, Any]]], path: Path, window: int = 20,
                evals: dict[str, list[tuple[int, float]]] | None = None, title: str = "") -> Path:
    """Rolling practice success vs environment steps, one line per run; evaluation points as markers. Runs
    with interventions also get a dashed line: the success of the policy alone (an episode taken over
    counts as a failure), which is what the evaluation measures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, recs in curves.items():
        if not recs:
            continue
        steps = [r["env_steps"] for r in recs]
        line, = ax.plot(steps, rolling([r["success"] for r in recs], window),
                        label=f"{name} (practice, rolling {window})")
        if any(r.get("intervention_steps") for r in recs):
            alone = [r["success"] and not r.get("intervention_steps") for r in recs]
            ax.plot(steps, rolling(alone, window), "--", color=line.get_color(),
                    label=f"{name}, without help")
        for x, y in (evals or {}).get(name, []):
            ax.plot([x], [y], "o", color=line.get_color())
    ax.set_xlabel("environment steps")
    ax.set_ylabel("success rate")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "fine-tuning (markers: evaluation episodes)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def rolling(values: list[bool], window: int) -> np.ndarray:
    """Mean of the last `window` values (fewer at the start) at every index."""
    s = np.asarray(values, float)
    return np.array([s[max(0, j - window + 1):j + 1].mean() for j in range(len(s))])
