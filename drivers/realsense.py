"""RealSenseCamera: an Intel RealSense colour + depth camera through librealsense (pyrealsense2).

A background thread pulls every frameset from the librealsense pipeline and does the bookkeeping of
`FrameProcessor.track` (drops, clock mapping, warm-up); `read_latest` converts the newest frameset on
demand (`FrameProcessor.convert`). Frames are in `<name>_color_optical_frame`; times are device capture
times mapped to host `time.monotonic()` (see `clock_sync`).

Unplug/reconnect: no frameset for `timeout_s`, or a librealsense error, makes `read_latest` raise
`CameraDisconnected` naming the serial; the thread then looks for the serial every `reconnect_interval_s`
and restarts the pipeline when it is back (after a fresh warm-up). Several cameras: one instance per
serial (`list_realsense_devices()` lists them).

In a process that also runs rclpy, import rclpy first: pyrealsense2 loaded before rclpy makes the
process crash at exit once an rclpy node existed (see tests/conftest.py).
"""

from __future__ import annotations

import threading
import time

import pyrealsense2 as rs

from robot_rl.drivers.base import Camera, CameraFrame
from robot_rl.drivers.camera_errors import CameraDisconnected, CameraError, RecordingEnded
from robot_rl.drivers.frame_slot import FrameSlot
from robot_rl.drivers.realsense_config import RealSenseConfig
from robot_rl.drivers.realsense_device import (
    DeviceList,
    color_intrinsics,
    connected_devices,
    open_device,
    start_pipeline,
)
from robot_rl.drivers.realsense_frames import FrameMeta, FrameProcessor

POLL_MS = 100  # the thread's wait per pipeline poll; bounds how long close() takes


class RealSenseCamera(Camera):
    """One RealSense device (by serial) or recording. `devices` lists the devices present (default: the
    connected ones; tests pass librealsense software devices). Raises `CameraNotFound` or `UnsupportedMode`
    (listing the device's modes) at construction."""

    def __init__(self, config: RealSenseConfig | None = None, devices: DeviceList = connected_devices):
        config = config or RealSenseConfig()
        self.config, self.name, self._devices = config, config.name, devices
        self.serial = config.serial
        self.frame_id = f"{config.name}_color_optical_frame"
        self._slot: FrameSlot[tuple[rs.composite_frame, FrameMeta]] = FrameSlot(
            self._who, None if config.recording else config.timeout_s)
        self._convert_lock = threading.Lock()
        self._cache: tuple[FrameMeta, CameraFrame] | None = None
        self._lost_reason = ""
        self.disconnects = 0
        """Times the stream was lost (each followed by reconnection attempts)."""
        self._start()
        self._processor = FrameProcessor(config, self.intrinsics)
        self._opened_at = self._last_arrival = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"realsense-{self.name}", daemon=True)
        self._thread.start()

    # --- public API ---------------------------------------------------------------------------------
    @property
    def dropped(self) -> int:
        """Total dropped frames since opening (see `realsense_frames`)."""
        return self._processor.dropped

    @property
    def clock_resets(self) -> int:
        """Times the device clock jumped and the host-time mapping re-anchored."""
        return self._processor.clock.resets

    def read_latest(self) -> CameraFrame:
        """The newest frame. Blocks only until the first frame after opening (at most
        `first_frame_timeout_s`); raises `CameraDisconnected` while the stream is lost or stale (no
        frameset for `timeout_s`), `RecordingEnded` after a recording's last frame."""
        return self._convert(self._slot.latest(self._opened_at + self.config.first_frame_timeout_s))

    def read_next(self, timeout_s: float | None = None) -> CameraFrame:
        """Block until a frame newer than the last one returned exists, then return it (same errors as
        `read_latest`; `timeout_s` defaults to the config's `timeout_s`)."""
        return self._convert(self._slot.next(self.config.timeout_s if timeout_s is None else timeout_s))

    def close(self) -> None:
        """Stop the thread and the pipeline; later reads raise `CameraError`."""
        self._stop.set()
        self._thread.join(timeout=5 * POLL_MS / 1000 + 1)
        self._stop_pipeline()
        self._slot.fail(CameraError(f"{self._who()} is closed"))

    def __enter__(self) -> RealSenseCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _who(self) -> str:
        return f"RealSense {self.name!r} (serial {self.serial or '?'})"

    def _convert(self, latest: tuple[rs.composite_frame, FrameMeta]) -> CameraFrame:
        frames, meta = latest
        with self._convert_lock:
            if self._cache is None or self._cache[0] is not meta:
                self._cache = (meta, self._processor.convert(frames, meta))
            return self._cache[1]

    # --- the thread ---------------------------------------------------------------------------------
    def _start(self) -> None:
        """Find the device, check its modes, start the pipeline (raises CameraNotFound/UnsupportedMode)."""
        device = open_device(self.config, self._devices)
        self.serial = device.get_info(rs.camera_info.serial_number)
        self._pipeline, profile = start_pipeline(device, self.config)
        self._device, self._streaming = device, False
        self.intrinsics, self.distortion_model, self.distortion_coeffs = color_intrinsics(profile)
        self.depth_scale = device.first_depth_sensor().get_depth_scale() if self.config.depth else None
        """Metres per depth unit as the device reports it (frames carry their own units, applied on read)."""

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as error:  # a bug must surface in read_latest, not die silently with the thread
            self._slot.fail(CameraError(f"{self._who()}: driver thread failed: {error!r}"))
            raise

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._pipeline is None and not self._reconnect():
                self._stop.wait(self.config.reconnect_interval_s)
                continue
            try:
                ok, frames = self._pipeline.try_wait_for_frames(POLL_MS)
            except RuntimeError as error:
                self._lost(f"librealsense error: {error}")
                continue
            now = time.monotonic()
            if ok:
                self._last_arrival, self._streaming = now, True
                meta = self._processor.track(frames, now)
                if meta is not None:
                    self._slot.publish((frames, meta), now)
            elif self._recording_ended():
                if not self.config.loop:
                    return self._slot.fail(RecordingEnded(f"{self._who()}: {self.config.recording} ended"))
                self._lost_reason = "recording restarting"
                self._stop_pipeline()  # reopened from the start by _reconnect, not counted as an outage
                self._last_arrival = time.monotonic()
            elif now - self._last_arrival > self._silence_limit():
                self._lost(f"no frames for {now - self._last_arrival:.2f} s")

    def _silence_limit(self) -> float:
        """Seconds without framesets that mean 'lost' (the first frame after a start may take longer)."""
        return self.config.timeout_s if self._streaming else self.config.first_frame_timeout_s

    def _recording_ended(self) -> bool:
        return self._device.is_playback() and \
            self._device.as_playback().current_status() == rs.playback_status.stopped

    def _lost(self, reason: str) -> None:
        self.disconnects += 1
        self._lost_reason = reason
        self._stop_pipeline()
        self._slot.fail(CameraDisconnected(f"{self._who()} disconnected: {reason}; reconnecting"))

    def _reconnect(self) -> bool:
        """One attempt to find the device again and restart streaming."""
        try:
            self._start()
        except (CameraError, RuntimeError) as error:
            reason = f"{self._lost_reason}; reconnecting (last attempt: {error})"
            self._slot.fail(CameraDisconnected(f"{self._who()} disconnected: {reason}"))
            return False
        self._processor.intrinsics = self.intrinsics
        outage = 0.0 if self.config.recording else time.monotonic() - self._last_arrival
        self._processor.restart(outage_s=outage)
        self._last_arrival = time.monotonic()
        return True

    def _stop_pipeline(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            try:
                pipeline.stop()
            except RuntimeError:
                pass  # already stopped or the device is gone: nothing left to release
