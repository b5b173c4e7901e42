"""Executing action chunks (DESIGN §3): the simulator path runs one action per control step; the
real-time path stamps action i of a chunk at obs_time + (i + offset)·dt, drops the actions already late
when the chunk arrives (inference latency), and streams the rest at their due times (diffusion policy's
real-robot execution). Times are on the executor's clock (host monotonic by default; injectable)."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable

import numpy as np

StepFn = Callable[[np.ndarray], bool]
"""Apply one action (A,) at the next control step; returns True when the episode is over."""


@dataclasses.dataclass(frozen=True)
class ExecutorConfig:
    """How chunks are executed."""

    n_action_steps: int = 8
    """Actions of each chunk executed before re-planning (receding horizon)."""
    real_time: bool = False
    """Stamp actions on the wall clock and drop late ones (hardware, or a mirror paced at wall-clock speed);
    False = one action per control step, nothing is ever late (the simulator)."""
    offset: float = 0.0
    """Action i of a chunk is due at obs_time + (i + offset)·dt (dt = the control period)."""
    exec_latency: float = 0.01
    """s: an action due less than this after the chunk arrives is late (it could not be sent in time)."""


@dataclasses.dataclass
class ChunkStats:
    """What happened to one chunk."""

    executed: int = 0
    """Actions applied."""
    dropped: int = 0
    """Actions dropped as late on arrival (real-time path only)."""
    overruns: int = 0
    """Actions applied after their due time because a previous step took too long (real-time path)."""


def schedule_chunk(obs_time: float, n: int, dt: float, now: float, offset: float = 0.0,
                   exec_latency: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the chunk's actions still on time and their due times (s, same clock as `now`).

    Action i is due at obs_time + (i + offset)·dt; it is late when due <= now + exec_latency. When every
    action is late, the last one is kept, due at the next tick of the chunk's grid (the arm keeps moving
    towards the newest plan instead of stalling)."""
    due = obs_time + (np.arange(n) + offset) * dt
    keep = np.flatnonzero(due > now + exec_latency)
    if keep.size:
        return keep, due[keep]
    k = math.floor((now + exec_latency - obs_time) / dt - offset) + 1
    return np.array([n - 1]), np.array([obs_time + (k + offset) * dt])


class SimExecutor:
    """One action per control step; the first `n_action_steps` of each chunk."""

    def __init__(self, config: ExecutorConfig = ExecutorConfig()) -> None:
        self.config = config

    def run(self, chunk: np.ndarray, obs_time: float, step: StepFn) -> ChunkStats:
        stats = ChunkStats()
        for action in np.asarray(chunk)[:self.config.n_action_steps]:
            stats.executed += 1
            if step(action):
                break
        return stats


class RealTimeExecutor:
    """Wall-clock execution with latency compensation; `dt` is the control period (s)."""

    def __init__(self, dt: float, config: ExecutorConfig = ExecutorConfig(real_time=True),
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.dt, self.config, self.clock, self.sleep = dt, config, clock, sleep

    def run(self, chunk: np.ndarray, obs_time: float, step: StepFn) -> ChunkStats:
        cfg = self.config
        chunk = np.asarray(chunk)[:cfg.n_action_steps]
        idx, due = schedule_chunk(obs_time, len(chunk), self.dt, self.clock(), cfg.offset, cfg.exec_latency)
        stats = ChunkStats(dropped=int(idx[0]))
        for i, t in zip(idx, due, strict=True):
            wait = t - self.clock()
            if wait > 0:
                self.sleep(wait)
            else:
                stats.overruns += wait < -cfg.exec_latency
            stats.executed += 1
            if step(chunk[i]):
                break
        return stats


def make_executor(config: ExecutorConfig, dt: float, clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> SimExecutor | RealTimeExecutor:
    return RealTimeExecutor(dt, config, clock, sleep) if config.real_time else SimExecutor(config)
