"""Demonstrations over ROS with no human: bring up the `sim_demo` graph (sim_node, expert_teleop,
teleop_bridge, recorder_node as separate processes) and let the scripted operator (operator_loop.py)
record episodes through the recorder's services. Stage 1 of `robot-rl demo`.

The graph's nodes take the task's own control rate, action scales and safety limits, so the recorded
`action` means what an in-process action of the task means. The DDS domain is private to the run
(a sim graph must never share a domain with a real rig: its arm targets would reach the real arm),
and the node processes and this process use the same transport settings (LARGE_DATA shared memory;
a participant without them does not match the nodes).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DOMAINS = range(220, 233)
"""ROS_DOMAIN_IDs a run picks from: clear of Linux's ephemeral ports (0..101 and 215..232 are) and of the
20..219 range the tests use."""


@contextlib.contextmanager
def ros_environment(domain_id: int) -> Iterator[dict[str, str]]:
    """Set the DDS domain and transport for this process (the client) and yield them for the nodes."""
    env = {"ROS_DOMAIN_ID": str(domain_id), "FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def graph_overrides(task: str, store: Path, image_size: int, seed: int, noise: float,
                    real_time_factor: float) -> dict[str, dict[str, Any]]:
    """Per-node parameters of `sim_demo` for a task: its rates, action scales and safety limits."""
    from robot_rl.tasks.registry import make_task

    cfg = make_task(task).config
    s = cfg.safety()
    hz, scales = cfg.control_hz, {"pos_scale": cfg.pos_scale, "rot_scale": cfg.rot_scale}
    safety = {"workspace_min": list(s.workspace_min), "workspace_max": list(s.workspace_max),
              "max_translation": float(s.max_translation), "max_rotation": float(s.max_rotation),
              "control_period": float(s.control_period)}
    return {
        "sim": {"task": task, "image_height": image_size, "image_width": image_size, "seed": seed,
                "cameras": list(cfg.cameras), "camera_hz": hz, "real_time_factor": real_time_factor,
                **safety},
        "expert_teleop": {"task": task, "control_hz": hz, "noise": noise, "seed": seed},
        "teleop_bridge": {"control_hz": hz, **scales},
        "recorder": {"store": str(store.resolve()), "task": task, "control_hz": hz,
                     "cameras": list(cfg.cameras), **scales},
    }


def collect_over_ros(task: str, episodes: int, store: Path, image_size: int = 96, seed: int = 0,
                     noise: float = 0.0, real_time_factor: float = 2.0, hold: float = 0.5,
                     log_dir: Path | None = None, domain_id: int | None = None,
                     startup_timeout: float = 120.0, progress: bool = True) -> dict[str, Any]:
    """Record `episodes` scripted demonstrations of `task` into `store` through the ROS graph.

    Args:
        task: Registered task (its mirror, expert, rates and scales).
        episodes: Episodes to record (failures are recorded too, labelled failed).
        store: EpisodeStore the recorder writes (appended to if it exists with the same keys).
        image_size: Side of the square camera images (pixels).
        seed: Scene seed of the sim's start-up scene; episode k is recorded on scene seed + 1 + k.
        noise: Std of Gaussian noise on the expert's normalised actions.
        real_time_factor: Sim seconds per wall second (the graph runs on sim time).
        hold: Sim seconds success must hold before an episode counts as successful.
        log_dir: Node logs (default: `<store>.logs` beside the store).
        domain_id: ROS_DOMAIN_ID of the run (default: one of DOMAINS by process id).
        startup_timeout: Wall seconds the graph may take to deliver its first data.
        progress: Show a tqdm bar.
    Returns: a summary (episodes, successes, success rate, seconds per episode, per-episode outcomes).
    """
    from robot_rl.ros.client import GraphClient
    from robot_rl.ros.graph import GRAPHS
    from robot_rl.ros.operator_loop import Operator, OperatorConfig
    from robot_rl.ros.runner import GraphProcesses
    from robot_rl.tasks.registry import make_task

    cfg = make_task(task).config
    log_dir = log_dir or store.with_name(store.name + ".logs")
    domain = DOMAINS[os.getpid() % len(DOMAINS)] if domain_id is None else domain_id
    overrides = graph_overrides(task, store, image_size, seed, noise, real_time_factor)
    op_cfg = OperatorConfig(max_steps=cfg.episode_steps, control_hz=cfg.control_hz, hold=hold)
    start = time.perf_counter()
    with ros_environment(domain) as env:
        procs = GraphProcesses(GRAPHS["sim_demo"](), overrides=overrides, env=env, log_dir=log_dir)
        with procs, GraphClient("robot_rl_operator") as client:
            procs.start()
            operator = Operator(client, op_cfg, check=lambda: _check_alive(procs, log_dir))
            operator.wait_ready(startup_timeout)
            ready = time.perf_counter()
            outcomes = operator.run(episodes, progress)
            wall = time.perf_counter() - ready
            operator.check()
    n_ok = sum(o.success for o in outcomes)
    return {"task": task, "episodes": len(outcomes), "successes": n_ok,
            "success_rate": n_ok / max(len(outcomes), 1), "startup_s": ready - start,
            "s_per_episode": wall / max(len(outcomes), 1), "sim_s_per_episode":
                sum(o.sim_s for o in outcomes) / max(len(outcomes), 1),
            "real_time_factor": real_time_factor, "domain_id": domain, "logs": str(log_dir),
            "outcomes": [dataclasses.asdict(o) for o in outcomes]}


def _check_alive(procs, log_dir: Path) -> None:
    dead = procs.died()
    if dead:
        tails = []
        for name in dead:
            path = log_dir / f"{name}.log"
            text = path.read_text(errors="replace")[-1500:] if path.exists() else "(no log)"
            tails.append(f"--- {name} (exit code {dead[name]}), {path}:\n{text}")
        raise RuntimeError(f"ROS node(s) {sorted(dead)} died during collection\n" + "\n".join(tails))
