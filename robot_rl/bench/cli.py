"""`robot-rl bench NAME --json PATH`: benchmarks, each writing its results as JSON."""

from __future__ import annotations

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


COMMANDS = {"store": store}
