"""`robot-rl bench NAME --json PATH`: benchmarks, each writing its results as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import tyro

from robot_rl.bench.store_bench import StoreBenchConfig

# flags read --json, not --cfg.json
Flat = tyro.conf.arg(name="")


def store(cfg: Annotated[StoreBenchConfig, Flat]) -> int:
    """Recording throughput (2 cameras 480x640 at 30 Hz + arm state) and sampler speed of the EpisodeStore."""
    from robot_rl.bench.store_bench import run

    run(cfg)
    return 0


def sim(json: Path = Path("out/bench/sim.json"), steps: int = 300, image_steps: int = 100) -> int:
    """Environment steps per second of every mirror task, state-only and with two 128x128 cameras.

    Args:
        json: Where to write the results (JSON).
        steps: Control steps timed per task without images.
        image_steps: Control steps timed per task with two 128x128 cameras.
    """
    from robot_rl.bench.sim_bench import run_sim_bench

    run_sim_bench(json, steps=steps, image_steps=image_steps)
    return 0


def franka(json: Path = Path("out/bench/franka.json"), trials: int = 50) -> int:
    """Franka driver against franky-sim: command roundtrip p99 and safety watchdog reaction.

    Args:
        json: Where to write the results (JSON).
        trials: Roundtrip trials (watchdog trials: a tenth of it, at least 3).
    """
    from robot_rl.bench.franka_bench import run_franka_bench

    run_franka_bench(json, n=trials)
    return 0


COMMANDS = {"store": store, "sim": sim, "franka": franka}
