"""UVCCamera: a USB (UVC) colour camera, or a video file, through OpenCV's `cv2.VideoCapture`.

Same interface as the RealSense driver, without depth. A background thread grabs continuously (so the
driver's buffers never fill with old frames) and keeps only the newest frame.

Time: UVC exposes no device clock through OpenCV, so for live devices `CameraFrame.time` is host
`time.monotonic()` when `grab()` returned (late by exposure + transfer, typically one or two frame
periods). For files it is the host time playback started plus the frame's media time
(CAP_PROP_POS_MSEC). Frame numbers: live = frames grabbed since opening (from 0); file = the frame's index
by media time, round(t × fps) (CAP_PROP_POS_FRAMES − 1 if the rate is unknown), so frames missing from a
file leave gaps. Dropped: file = those gaps; live = intervals longer than 1.5 nominal periods (an
estimate: UVC through OpenCV has no frame counter).
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from robot_rl.drivers.base import Camera, CameraFrame, Intrinsics
from robot_rl.drivers.camera_errors import CameraError, CameraNotFound, RecordingEnded, UnsupportedMode
from robot_rl.drivers.frame_slot import FrameSlot
from robot_rl.drivers.uvc_config import UVCConfig


def missed_frames(interval_s: float, period_s: float) -> int:
    """Frames a live camera at `period_s` must have dropped for consecutive frames `interval_s` apart."""
    return max(0, round(interval_s / period_s) - 1) if period_s > 0 and interval_s > 1.5 * period_s else 0


def nominal_intrinsics(cfg: UVCConfig, width: int, height: int) -> Intrinsics:
    """The configured pinhole model, filled in from `hfov_deg` and the image centre where not given."""
    fx = cfg.fx or (width / 2) / math.tan(math.radians(cfg.hfov_deg) / 2)
    return Intrinsics(fx=fx, fy=cfg.fy or fx, cx=cfg.cx if cfg.cx >= 0 else (width - 1) / 2,
                      cy=cfg.cy if cfg.cy >= 0 else (height - 1) / 2, width=width, height=height)


def open_capture(cfg: UVCConfig) -> cv2.VideoCapture:
    """Open and configure the device or file; `CameraNotFound` / `UnsupportedMode` with the reason."""
    if cfg.is_file:
        if not Path(cfg.device).is_file():
            raise CameraNotFound(f"UVC {cfg.name!r}: video file {cfg.device!r} does not exist")
        cap = cv2.VideoCapture(cfg.device, cv2.CAP_FFMPEG)
    else:
        source = int(cfg.device) if cfg.device.isdigit() else cfg.device
        cap = cv2.VideoCapture(source, cv2.CAP_V4L2)
    if not cap.isOpened():
        present = sorted(str(p) for p in Path("/dev").glob("video*"))
        raise CameraNotFound(f"UVC {cfg.name!r}: cannot open {cfg.device!r}; devices: {present or 'none'}")
    if not cfg.is_file:
        _request_mode(cap, cfg)
    _check_mode(cap, cfg)
    return cap


def _request_mode(cap: cv2.VideoCapture, cfg: UVCConfig) -> None:
    if cfg.fourcc:
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*cfg.fourcc))
    for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, cfg.width), (cv2.CAP_PROP_FRAME_HEIGHT, cfg.height),
                        (cv2.CAP_PROP_FPS, cfg.fps)):
        if value:
            cap.set(prop, value)
    cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not one queued in the driver
    cap.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, 1000 * cfg.timeout_s)  # where the backend supports it


def _check_mode(cap: cv2.VideoCapture, cfg: UVCConfig) -> None:
    """OpenCV cannot list a device's modes: compare what it settled on with what was asked."""
    got = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
           cap.get(cv2.CAP_PROP_FPS))
    size_ok = cfg.width in (0, got[0]) and cfg.height in (0, got[1])
    fps_ok = cfg.is_file or cfg.fps == 0 or abs(got[2] - cfg.fps) < 0.5
    if not (size_ok and fps_ok):
        cap.release()
        asked, delivered = f"{cfg.width}x{cfg.height}@{cfg.fps:g}", f"{got[0]}x{got[1]}@{got[2]:g}"
        raise UnsupportedMode(f"UVC {cfg.name!r} ({cfg.device}): asked {asked}, it delivers {delivered} "
                              "(its modes: v4l2-ctl --list-formats-ext)")


class UVCCamera(Camera):
    """A UVC camera or a video file (see module doc). Raises `CameraNotFound` / `UnsupportedMode` here."""

    def __init__(self, config: UVCConfig | None = None) -> None:
        self.config = config = config or UVCConfig()
        self.name, self.frame_id = config.name, f"{config.name}_color_optical_frame"
        self._cap = open_capture(config)
        self._on_open()
        self._slot: FrameSlot[CameraFrame] = FrameSlot(
            lambda: f"UVC {self.name!r} ({config.device})", None if config.is_file else config.timeout_s)
        self.dropped = 0
        """Total dropped frames (see module doc)."""
        self.disconnects = 0
        """Times a live device was lost."""
        self._opened_at = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"uvc-{self.name}", daemon=True)
        self._thread.start()

    def read_latest(self) -> CameraFrame:
        """The newest frame; blocks only until the first one (at most `first_frame_timeout_s`). Raises
        `CameraDisconnected` while a live device is lost or silent, `RecordingEnded` after a file's end."""
        return self._slot.latest(self._opened_at + self.config.first_frame_timeout_s)

    def read_next(self, timeout_s: float | None = None) -> CameraFrame:
        """Block (at most `timeout_s`, default the config's) for a frame newer than the last returned."""
        return self._slot.next(self.config.timeout_s if timeout_s is None else timeout_s)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2 * self.config.timeout_s + 1)
        self._cap.release()
        self._slot.fail(CameraError(f"UVC {self.name!r} is closed"))

    def __enter__(self) -> UVCCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_open(self) -> None:
        size = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.intrinsics = nominal_intrinsics(self.config, *size)
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.period_s = 1.0 / fps if fps > 0 else 0.0
        self._count, self._last_index, self._last_time = 0, -1, None
        self._start_time = time.monotonic()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._step_file() if self.config.is_file else self._step_live()
        except RecordingEnded as end:
            self._slot.fail(end)
        except Exception as error:  # a bug must surface in read_latest, not die silently with the thread
            self._slot.fail(CameraError(f"UVC {self.name!r}: grab thread failed: {error!r}"))
            raise

    def _step_file(self) -> None:
        if not self.config.realtime:
            self._slot.wait_taken(self._stop)  # lock-step: decode the next frame once this one was read
        if not self._cap.grab():
            if not self.config.loop:
                raise RecordingEnded(f"UVC {self.name!r}: {self.config.device} ended")
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._on_open()
            return
        media_s = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000
        decoded = int(self._cap.get(cv2.CAP_PROP_POS_FRAMES)) - 1
        index = round(media_s / self.period_s) if self.period_s else decoded
        capture = self._start_time + media_s
        self.dropped += max(0, index - self._last_index - 1)
        self._last_index = index
        if self.config.realtime:
            self._stop.wait(max(0.0, capture - time.monotonic()))
        self._publish(index, capture)

    def _step_live(self) -> None:
        if not self._cap.grab():
            return self._check_silence()
        now = time.monotonic()
        if self._last_time is not None:
            self.dropped += missed_frames(now - self._last_time, self.period_s)
        self._last_time, self._count = now, self._count + 1
        if self._count > self.config.warmup_frames:
            self._publish(self._count - 1, now)

    def _publish(self, frame_number: int, capture: float) -> None:
        ok, bgr = self._cap.retrieve()
        if not ok:
            return
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        frame = CameraFrame(color=np.ascontiguousarray(rgb), depth=None, intrinsics=self.intrinsics,
                            time=capture, frame_number=frame_number, dropped=self.dropped)
        self._slot.publish(frame, time.monotonic())

    def _check_silence(self) -> None:
        """A live grab failed: after `timeout_s` without frames, reopen the device until it is back."""
        last = self._last_time or self._start_time
        if time.monotonic() - last < self.config.timeout_s:
            self._stop.wait(0.01)
            return
        self.disconnects += 1
        self._cap.release()
        while not self._stop.wait(self.config.reconnect_interval_s):
            try:
                self._cap = open_capture(self.config)
            except CameraError:
                continue
            self.dropped += missed_frames(time.monotonic() - last, self.period_s)
            self._on_open()
            return
