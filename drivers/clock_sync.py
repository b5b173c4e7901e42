"""Map a device clock to host `time.monotonic()` seconds (DESIGN §3: capture times in host monotonic time).

Every sample has a device timestamp `d` (device clock, s) and a host arrival time `a` (monotonic, s) taken
when the driver received it. `a = capture_host + latency` with latency >= 0 and varying (USB transfer,
scheduling), so `a - d = offset + latency`. The minimum of `a - d` over a sliding window of samples is the
offset plus the *smallest* latency seen, an estimate that a late sample cannot disturb; the mapped
capture time is `d + min(a - d)`, never later than the arrival of any sample in the window. The window
(a few seconds) follows slow drift between the two clocks.

A device clock that runs backwards, or jumps by more than `jump_periods` frame periods beyond what the
number of elapsed frames explains (device reset, clock re-sync, a recording restarting), invalidates the
window: the mapper re-anchors on the new sample and counts the event in `resets`.
"""

from __future__ import annotations

import collections


class ClockMapper:
    """Online device→host clock mapping by the windowed minimum of (arrival − device time)."""

    def __init__(self, period_s: float, window: int = 90, jump_periods: float = 5.0) -> None:
        """`period_s`: nominal sample period (s); `window`: samples in the minimum; `jump_periods`: the
        tolerance, in periods, between the device-time step and `frames_elapsed × period_s`."""
        if period_s <= 0 or window < 1 or jump_periods <= 0:
            raise ValueError(f"bad ClockMapper parameters: {period_s=}, {window=}, {jump_periods=}")
        self.period_s, self.jump_periods = period_s, jump_periods
        self._offsets: collections.deque[float] = collections.deque(maxlen=window)
        self._last_device: float | None = None
        self.resets = 0
        """Times the device clock jumped and the mapping re-anchored."""

    def reset(self) -> None:
        """Forget the history (after a reconnect); not counted in `resets`."""
        self._offsets.clear()
        self._last_device = None

    def is_jump(self, device_s: float, frames_elapsed: int = 1) -> bool:
        """Whether `device_s` is inconsistent with the previous sample `frames_elapsed` frames ago."""
        if self._last_device is None:
            return False
        step = device_s - self._last_device
        expected = max(frames_elapsed, 1) * self.period_s
        return step <= 0 or abs(step - expected) > self.jump_periods * self.period_s

    def map(self, device_s: float, arrival_s: float, frames_elapsed: int = 1) -> float:
        """Host monotonic capture time (s) of a sample stamped `device_s` (device clock, s) that arrived at
        `arrival_s` (host monotonic, s), `frames_elapsed` frames after the previous sample."""
        if self.is_jump(device_s, frames_elapsed):
            self.resets += 1
            self._offsets.clear()
        self._last_device = device_s
        self._offsets.append(arrival_s - device_s)
        return device_s + min(self._offsets)
