"""The one path every RealSense frameset takes, whatever produced it (live device, recording, software).

`FrameProcessor.track` runs on the driver's thread for every frameset the pipeline delivers (cheap
bookkeeping): it pairs colour with depth, counts dropped frames, maps the device clock to host time and
applies the warm-up. `FrameProcessor.convert` turns a tracked frameset into a `CameraFrame` when a
caller asks for it (align depth to colour, device depth units → metres, 0 → NaN, RGB order), so frames
nobody reads cost no alignment.

Dropped frames (`dropped`, never hidden):
- gaps in the colour frame counter (frame n followed by n+k counts k−1);
- colour frames that never got their depth frame (the librealsense pipeline fills a missing stream with
  the previous frame of that stream; a depth timestamp more than half a period from the colour timestamp
  marks such a stale pair);
- after a reconnect, the frames the outage cost at the nominal rate (an estimate).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyrealsense2 as rs

from robot_rl.drivers.base import CameraFrame, Intrinsics
from robot_rl.drivers.clock_sync import ClockMapper
from robot_rl.drivers.realsense_config import RealSenseConfig


@dataclasses.dataclass(frozen=True)
class FrameMeta:
    """What `track` decided about one colour frame."""

    time: float
    """Capture time (s, host monotonic), mapped from the device timestamp."""
    frame_number: int
    """Device colour frame counter."""
    dropped: int
    """Total dropped frames so far."""
    device_time: float
    """Device timestamp (s) in its own clock domain (`timestamp_domain`)."""
    timestamp_domain: str
    """librealsense clock of `device_time`: hardware_clock, global_time or system_time."""


class FrameProcessor:
    """Bookkeeping and conversion of pipeline framesets for one camera (one instance per camera)."""

    def __init__(self, cfg: RealSenseConfig, intrinsics: Intrinsics) -> None:
        self.cfg, self.intrinsics = cfg, intrinsics
        self.period_s = 1.0 / cfg.fps
        self.clock = ClockMapper(self.period_s, cfg.clock_window, cfg.clock_jump_periods)
        self.dropped = 0
        self._align = rs.align(rs.stream.color) if cfg.depth and cfg.align else None
        self.restart()

    def restart(self, outage_s: float = 0.0) -> None:
        """Start of a (new) stream: forget counters and clock, restart warm-up; `outage_s` (s) without
        frames before it count as dropped at the nominal rate."""
        self.dropped += max(0, round(outage_s / self.period_s) - 1)
        self.clock.reset()
        self._last_fn: int | None = None
        self._pending: tuple[int, float] | None = None  # colour (frame number, device s) awaiting its depth
        self._time = 0.0  # mapped capture time of the pending colour frame
        self._seen = 0

    def track(self, frames: rs.composite_frame, arrival: float) -> FrameMeta | None:
        """Account for one frameset that arrived at host time `arrival` (monotonic s); return its metadata
        if it holds a new colour frame ready to publish (paired with its depth, past the warm-up)."""
        color = frames.get_color_frame()
        if not color:
            return None
        fn, device_s = int(color.get_frame_number()), color.get_timestamp() / 1000.0
        if fn == self._last_fn:  # same colour again: the pipeline may now deliver its matching depth
            if self._pending is None or not self._has_depth(frames, device_s):
                return None
        else:
            self._new_color(fn, device_s, arrival)
            if self.cfg.depth and not self._has_depth(frames, device_s):
                return None
        fn, device_s = self._pending
        self._pending = None
        self._seen += 1
        if self._seen <= self.cfg.warmup_frames:
            return None
        return FrameMeta(time=self._time, frame_number=fn, dropped=self.dropped, device_time=device_s,
                         timestamp_domain=color.get_frame_timestamp_domain().name)

    def _new_color(self, fn: int, device_s: float, arrival: float) -> None:
        if self._pending is not None:
            self.dropped += 1  # the previous colour frame never got its depth
        elapsed = 1
        if self._last_fn is not None and fn > self._last_fn:
            elapsed = fn - self._last_fn
            self.dropped += elapsed - 1
        self._time = self.clock.map(device_s, arrival, elapsed)
        self._last_fn = fn
        self._pending = (fn, device_s)

    def _has_depth(self, frames: rs.composite_frame, color_s: float) -> bool:
        depth = frames.get_depth_frame()
        return bool(depth) and abs(depth.get_timestamp() / 1000.0 - color_s) < 0.5 * self.period_s

    def convert(self, frames: rs.composite_frame, meta: FrameMeta) -> CameraFrame:
        """The `CameraFrame` of a frameset `track` published: colour (H, W, 3) uint8 RGB; depth (H, W)
        float32 metres on the colour grid (device depth units applied), NaN where the device had no depth."""
        if self._align is not None:
            frames = self._align.process(frames)
        color_frame = frames.get_color_frame()
        color = np.asanyarray(color_frame.get_data())
        if color_frame.get_profile().format() == rs.format.bgr8:
            color = color[..., ::-1]
        depth = None
        if self.cfg.depth:
            depth_frame = frames.get_depth_frame().as_depth_frame()
            depth = depth_to_metres(np.asanyarray(depth_frame.get_data()), depth_frame.get_units())
            if depth.shape != color.shape[:2]:
                raise ValueError(f"depth {depth.shape} is not on the colour grid {color.shape[:2]}")
        return CameraFrame(color=np.ascontiguousarray(color).copy(), depth=depth, intrinsics=self.intrinsics,
                           time=meta.time, frame_number=meta.frame_number, dropped=meta.dropped)


def depth_to_metres(raw: np.ndarray, units_m: float) -> np.ndarray:
    """z16 depth (device units of `units_m` metres) → float32 metres, NaN where the device reports 0."""
    depth = raw.astype(np.float32) * np.float32(units_m)
    depth[raw == 0] = np.nan
    return depth
