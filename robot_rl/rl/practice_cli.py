"""`robot-rl practice`: autonomous practice on a task's MuJoCo mirror — a chunk policy runs episodes
that are stored as online data, a reset strategy puts the scene back between them, a verifier confirms
each reset (retries, then the operator), and every episode is logged as a JSON line."""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
from pathlib import Path
from typing import Literal

from robot_rl.rl.runner import RunnerConfig
from robot_rl.tasks.registry import TASKS

TaskName = Literal[tuple(TASKS)]  # type: ignore[valid-type]
DEFAULT_RUNNER = RunnerConfig()


def _policy(kind: str, checkpoint: Path | None, task, noise: float, horizon: int, seed: int):
    from robot_rl.rl.interfaces import CheckpointChunkPolicy, ExpertChunkPolicy

    if kind == "checkpoint":
        if checkpoint is None:
            raise SystemExit("--policy checkpoint needs --checkpoint PATH")
        return CheckpointChunkPolicy(checkpoint, seed)
    return ExpertChunkPolicy(task, noise, horizon, seed)


def _stdin_operator(timeout_s: float):
    """The operator strategy confirmed by pressing Enter in this terminal."""
    from robot_rl.resets.operator import Confirmation, OperatorConfig, OperatorReset

    confirm = Confirmation()

    def read() -> None:
        for _ in sys.stdin:
            confirm.confirm()
    threading.Thread(target=read, daemon=True).start()
    return OperatorReset(OperatorConfig(timeout_s=timeout_s), confirmed=confirm,
                         prompt=lambda line: print(f"{line} (press Enter)", flush=True))


def practice(task: TaskName, store: Path, policy: Literal["expert", "checkpoint"] = "expert",
             checkpoint: Path | None = None, reset: Literal["scripted", "teleport", "operator"] = "scripted",
             episodes: int = 10, noise: float = 0.1, images: bool = False, image_size: int = 128,
             escalate: bool = True, operator_timeout: float = 0.0, log: Path | None = None,
             runner: RunnerConfig = DEFAULT_RUNNER) -> int:
    """Practise a task on its MuJoCo mirror: episodes → EpisodeStore (source online), verified resets.

    Args:
        task: Registered task name.
        store: Store directory for the practice episodes (created if missing, appended to otherwise).
        policy: "expert" (the task's scripted expert with noise, in chunks of n_action_steps) or
            "checkpoint" (a `robot-rl train` checkpoint, --checkpoint).
        checkpoint: Policy checkpoint (.safetensors) for --policy checkpoint.
        reset: "scripted" (the task's reset procedure through the arm), "teleport" (mirror only, CI speed) or
            "operator" (press Enter in this terminal once the scene is back).
        episodes: Episodes to run (overrides --episodes of the runner config).
        noise: Std of the expert's action noise.
        images: Render and store the task's cameras (needed by image policies; slower).
        image_size: Side of the square camera images, pixels.
        escalate: After failed verified attempts, ask the operator (Enter in this terminal).
        operator_timeout: Seconds the operator has to confirm (0 = wait forever).
        log: JSON-lines episode log (default: next to the store, <store>.practice.jsonl).
        runner: Runner settings (seed, chunk execution, verification retries, ...).
    """
    from robot_rl.data.store import EpisodeStore
    from robot_rl.env.robot_env import RobotEnv
    from robot_rl.resets.base import make_reset
    from robot_rl.rl.interfaces import MirrorReward
    from robot_rl.rl.runner import EpisodeRunner, practice_specs, summarize

    log = log or store.with_name(store.name + ".practice.jsonl")
    cfg = dataclasses.replace(runner, episodes=episodes, log=str(log))
    env = RobotEnv(task, images=images, image_size=(image_size, image_size))
    operator = _stdin_operator(operator_timeout) if escalate or reset == "operator" else None
    strategy = operator if reset == "operator" else make_reset(reset)
    pol = _policy(policy, checkpoint, env.task, noise, cfg.executor.n_action_steps, cfg.seed)
    attrs = {"task": task, "rig": "mujoco_mirror", "recorded_by": "robot-rl practice",
             "task_config": dataclasses.asdict(env.task.config), "runner": dataclasses.asdict(cfg)}
    with EpisodeStore.create(store, practice_specs(env.observation_space), attrs, exist_ok=True) as db:
        records = EpisodeRunner(env, pol, MirrorReward(), strategy, db, cfg, operator=operator,
                                episode_info={"noise": noise, "rig": "mujoco_mirror"}).run()
    env.close()
    summary = summarize(records)
    print(json.dumps(summary, indent=1))
    print(f"{store}: {summary['episodes']} episodes; log {log}")
    return 0 if len(records) == episodes else 1

