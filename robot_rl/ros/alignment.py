"""Aligning streams of timestamped samples onto a control-rate grid (the recorder's logic, no ROS).

Grid: step k sits at t_k = (n0 + k) / rate on the ROS clock (sim time on the mirror); n0 is the first
whole period at or after the episode's start, so grids of different episodes share the same phase.
A step is assembled once the clock has passed t_k + window + lag (window: how far after t_k a stream
may look, e.g. the command issued in reaction to the observation at t_k; lag: transport latency) and
every continuous stream with a `watermark` has delivered a sample captured at or after t_k + watermark
(its data for the step is in: a reader that fell behind its queues, while its clock subscription
jumped ahead, waits for the data instead of recording gaps), or, failing that, once the clock is
`max_wait` past the assembly time (a stream that stopped is recorded as gaps, never waited for forever).

Each stream answers with the newest sample whose capture time is within [t - max_age, t] for
observations (`window` = 0: nothing captured after the grid time leaks into a step), or within
[t - max_age, t + window) for commands (`window` > 0, half-open: a command stamped exactly at the next
grid time is the reaction to that step's observation, not this one's). A stream
with `unique=True` (cameras) never hands out the same sample twice: when its newest sample was
already used, or is older than `max_age`, or there is none, the step records a gap — `valid` False,
the payload zero-filled (never a silent copy of an earlier frame), `frame_number` -1, `time` NaN.
A stream with `hold=True` (low-dim robot state) answers a gap with its newest older sample (zero-order
hold, `valid` False) rather than NaN, so one late message never puts a NaN into a state vector.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

EPS = 1e-6
"""Capture times within this many seconds of a grid time count as at it (float round-off of sim time)."""


@dataclasses.dataclass(frozen=True)
class Sample:
    time: float
    """Capture time (s, ROS clock)."""
    values: dict[str, np.ndarray]
    """Payload by store key, e.g. {"image/front": (H, W, 3) uint8}."""
    seq: int = -1
    """Device frame number (-1 if the stream has none)."""


class Stream:
    """Recent samples of one source, ordered by capture time."""

    def __init__(self, name: str, max_age: float, window: float = 0.0, unique: bool = False,
                 keep: int = 256, hold: bool = False, watermark: float | None = None) -> None:
        self.name, self.max_age, self.window, self.unique, self.hold = name, max_age, window, unique, hold
        self.watermark = watermark
        self._times: collections.deque[float] = collections.deque(maxlen=keep)
        self._samples: collections.deque[Sample] = collections.deque(maxlen=keep)
        self.template: dict[str, np.ndarray] | None = None
        self._last_used: Sample | None = None
        self.received = 0
        self.gaps = 0

    def push(self, sample: Sample) -> None:
        """Add a sample; out-of-order samples are inserted in capture-time order."""
        if self.template is None:
            self.template = {k: _fill(v) for k, v in sample.values.items()}
        self.received += 1
        if not self._times or sample.time >= self._times[-1]:
            self._times.append(sample.time)
            self._samples.append(sample)
            return
        i = bisect.bisect_right(list(self._times), sample.time)
        self._times.insert(i, sample.time)
        self._samples.insert(i, sample)

    def caught_up(self, t: float) -> bool:
        """The stream has delivered a sample captured at or after `t` + watermark (True if it has none)."""
        if self.watermark is None:
            return True
        return bool(self._times) and self._times[-1] >= t + self.watermark - EPS

    def reset(self) -> None:
        """Forget which sample was used last (new episode)."""
        self._last_used = None

    def pick(self, t: float) -> Sample | None:
        """The sample for grid time `t`, or None for a gap."""
        end = t + self.window + (EPS if self.window == 0 else -EPS)
        i = bisect.bisect_right(list(self._times), end)
        if i == 0:
            return None
        s = self._samples[i - 1]
        if t - s.time > self.max_age + EPS or (self.unique and s is self._last_used):
            return None
        self._last_used = s
        return s

    def assemble(self, t: float, prefix_valid: str | None = None) -> dict[str, Any]:
        """The step's values for this stream at `t`, with `valid/<name>` (and for unique streams
        `frame_number/<name>`, `capture_time/<name>`) when `prefix_valid` is given."""
        if self.template is None:
            raise RuntimeError(f"stream {self.name!r} has no samples yet")
        s = self.pick(t)
        self.gaps += s is None
        held = self._held(t) if s is None and self.hold else None
        out = dict(s.values if s is not None else held.values if held is not None else self.template)
        if prefix_valid is not None:
            out[f"valid/{prefix_valid}"] = np.bool_(s is not None)
            if self.unique:
                out[f"frame_number/{prefix_valid}"] = np.int64(-1 if s is None else s.seq)
                out[f"capture_time/{prefix_valid}"] = np.float64(math.nan if s is None else s.time)
        return out

    def _held(self, t: float) -> Sample | None:
        """The newest sample captured at or before `t`, however old."""
        i = bisect.bisect_right(list(self._times), t + EPS)
        return self._samples[i - 1] if i else None


def _fill(v: np.ndarray) -> np.ndarray:
    """The gap value of a payload: zeros for integers/bools, NaN for floats."""
    v = np.asarray(v)
    return np.full(v.shape, np.nan, v.dtype) if v.dtype.kind == "f" else np.zeros(v.shape, v.dtype)


class Grid:
    """Grid times of one episode at `rate` Hz, starting at the first whole period ≥ `start`."""

    def __init__(self, rate: float, start: float) -> None:
        self.rate = rate
        self.n0 = math.ceil(start * rate - EPS)
        self.k = 0

    @property
    def period(self) -> float:
        return 1.0 / self.rate

    def time(self, k: int) -> float:
        return (self.n0 + k) / self.rate

    def due(self, now: float, delay: float, ready: Callable[[float], bool] | None = None,
            max_wait: float = math.inf) -> list[float]:
        """Grid times not yet handed out whose assembly time (t + delay) has passed and, if `ready` is
        given, for which `ready(t)` holds or the assembly time is `max_wait` past; advances."""
        out = []
        while self.time(self.k) + delay <= now + EPS:
            t = self.time(self.k)
            if ready is not None and not ready(t) and t + delay + max_wait > now + EPS:
                break
            out.append(t)
            self.k += 1
        return out


class FrameStats:
    """Receive latency (arrival − capture, s) and frames missed by a fixed-rate camera, inferred from
    capture-time spacing: a step of n frame periods means n − 1 frames never arrived. The period is
    the smallest spacing seen (a camera never delivers faster than its rate)."""

    def __init__(self, keep: int = 4096) -> None:
        self.latency: collections.deque[float] = collections.deque(maxlen=keep)
        self.received = 0
        self.missed = 0
        self._last: float | None = None
        self._period = math.inf

    def add(self, stamp: float, arrival: float) -> None:
        self.received += 1
        self.latency.append(arrival - stamp)
        if self._last is not None and stamp > self._last:
            dt = stamp - self._last
            if dt < self._period * 0.75:  # a faster spacing than assumed: recount with the new period
                self._period = dt
            self.missed += max(0, round(dt / self._period) - 1)
        self._last = stamp

    def fields(self, name: str) -> dict:
        """Diagnostics key → getter."""
        def pct(q: float) -> str:
            return f"{1e3 * float(np.percentile(self.latency, q)):.3f}" if self.latency else "nan"
        return {f"received/{name}": lambda: self.received, f"missed/{name}": lambda: self.missed,
                f"latency_p50_ms/{name}": lambda: pct(50), f"latency_p99_ms/{name}": lambda: pct(99)}
