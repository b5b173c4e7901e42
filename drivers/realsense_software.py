"""A librealsense `software_device` shaped like a D400 camera, for tests and benchmarks without hardware.

Frames injected with `inject` enter librealsense exactly where a camera's frames would: the software
sensors feed the same syncer, pipeline, align block and recorder as a USB device. `RealSenseCamera`
reaches it through its `devices` callable (librealsense 2.59's `software_device.add_to(context)` does not
make the device visible to `query_devices`, so tests hand the device over directly).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyrealsense2 as rs


def _intrinsics(width: int, height: int, f: float) -> rs.intrinsics:
    i = rs.intrinsics()
    i.width, i.height, i.fx, i.fy = width, height, f, f
    i.ppx, i.ppy = (width - 1) / 2, (height - 1) / 2
    i.model, i.coeffs = rs.distortion.none, [0.0] * 5
    return i


def _video_stream(kind: rs.stream, uid: int, size: tuple[int, int], fps: int, fmt: rs.format, bpp: int,
                  f: float) -> rs.video_stream:
    s = rs.video_stream()
    s.type, s.index, s.uid, s.fps, s.fmt, s.bpp = kind, 0, uid, fps, fmt, bpp
    s.width, s.height = size
    s.intrinsics = _intrinsics(*size, f)
    return s


def pattern(frame_number: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic test images for frame `frame_number`: colour (H, W, 3) uint8 with R = n mod 256,
    G = 7n mod 256, B = 200; raw z16 depth (H, W) = 500 + n device units except 0 (no depth) in column 0."""
    color = np.empty((height, width, 3), np.uint8)
    color[..., 0], color[..., 1], color[..., 2] = frame_number % 256, (7 * frame_number) % 256, 200
    depth = np.full((height, width), 500 + frame_number, np.uint16)
    depth[:, 0] = 0
    return color, depth


class SoftwareRealSense:
    """A software device with a 'Stereo Module' (z16 depth) and an 'RGB Camera' (`color_format`: rgb8 or
    bgr8), both of `width`x`height` at `fps`, focal length `f` px, depth 15 mm to the side of colour."""

    def __init__(self, serial: str = "000000000001", width: int = 64, height: int = 48, fps: int = 30,
                 depth_units: float = 0.001, f: float = 50.0,
                 extra_color_modes: Sequence[tuple[int, int, int]] = (), color_format: str = "rgb8") -> None:
        self.serial, self.width, self.height, self.fps = serial, width, height, fps
        self.color_format = color_format
        self.device = rs.software_device()
        self.device.register_info(rs.camera_info.serial_number, serial)
        self.device.register_info(rs.camera_info.name, "Intel RealSense D435 (software device)")
        self.depth_sensor = self.device.add_sensor("Stereo Module")
        self.color_sensor = self.device.add_sensor("RGB Camera")
        self.depth_sensor.add_read_only_option(rs.option.depth_units, depth_units)
        size = (width, height)
        self.depth_profile = self.depth_sensor.add_video_stream(
            _video_stream(rs.stream.depth, 0, size, fps, rs.format.z16, 2, f)).as_video_stream_profile()
        self.color_profile = self.color_sensor.add_video_stream(
            _video_stream(rs.stream.color, 1, size, fps, getattr(rs.format, color_format), 3, f)
        ).as_video_stream_profile()
        for uid, (w, h, rate) in enumerate(extra_color_modes, start=2):
            stream = _video_stream(rs.stream.color, uid, (w, h), rate, rs.format.rgb8, 3, f)
            self.color_sensor.add_video_stream(stream)
        extrinsics = rs.extrinsics()
        extrinsics.rotation, extrinsics.translation = [1, 0, 0, 0, 1, 0, 0, 0, 1], [0.015, 0.0, 0.0]
        self.depth_profile.register_extrinsics_to(self.color_profile, extrinsics)

    def inject(self, frame_number: int, timestamp_ms: float, color: np.ndarray | None = None,
               depth: np.ndarray | None = None,
               domain: rs.timestamp_domain = rs.timestamp_domain.hardware_clock) -> None:
        """Inject a colour (H, W, 3) uint8 (in the stream's channel order) and/or raw depth (H, W) uint16
        frame with the device's frame counter and timestamp (ms, `domain` clock). librealsense drops frames
        injected while the device is not streaming."""
        for image, sensor, profile in ((color, self.color_sensor, self.color_profile),
                                       (depth, self.depth_sensor, self.depth_profile)):
            if image is None:
                continue
            frame = rs.software_video_frame()  # a fresh one each time: librealsense frees its pixel copy
            frame.pixels = np.ascontiguousarray(image)
            frame.bpp = image.itemsize * (image.shape[2] if image.ndim == 3 else 1)
            frame.stride = frame.bpp * image.shape[1]
            frame.timestamp, frame.domain, frame.frame_number = timestamp_ms, domain, frame_number
            frame.profile = profile
            sensor.on_video_frame(frame)

    def inject_pattern(self, frame_number: int, timestamp_ms: float, color: bool = True,
                       depth: bool = True) -> None:
        """Inject `pattern(frame_number)`; `color`/`depth` False leaves that stream's frame out."""
        c, d = pattern(frame_number, self.width, self.height)
        c = c[..., ::-1] if self.color_format == "bgr8" else c
        self.inject(frame_number, timestamp_ms, c if color else None, d if depth else None)

    @contextlib.contextmanager
    def recording(self, path: str | Path) -> Iterator[None]:
        """Record everything injected inside the block to the librealsense recording `path` (.db3)."""
        recorder = rs.recorder(str(path), self.device)
        sink = rs.syncer()
        sensors = ((self.depth_sensor, self.depth_profile), (self.color_sensor, self.color_profile))
        for sensor, profile in sensors:
            sensor.open(profile)
            sensor.start(sink)
        try:
            yield
        finally:
            for sensor, _ in sensors:
                sensor.stop()
                sensor.close()
            recorder.pause()
            del recorder  # the file is finalised when the recorder is destroyed
