"""Finding, checking and starting a RealSense device (live, recording, or librealsense software device).

Every source goes through the same librealsense pipeline: the device object is found first (by serial
among connected devices, or loaded from a recording), its stream profiles are checked against the
requested mode, then `rs.pipeline.set_device(device)` + `rs.config.enable_device(serial)` start it.
Tests hand in librealsense `software_device`s through the same `devices` callable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import pyrealsense2 as rs

from robot_rl.drivers.base import Intrinsics
from robot_rl.drivers.camera_errors import CameraError, CameraNotFound, UnsupportedMode
from robot_rl.drivers.realsense_config import RealSenseConfig

DeviceList = Callable[[], Sequence[rs.device]]
"""Returns the devices currently present (default: `connected_devices`)."""


@dataclasses.dataclass(frozen=True)
class StreamMode:
    """One stream profile a device offers."""

    stream: str
    """'color' or 'depth'."""
    width: int
    height: int
    fps: int
    format: str
    """librealsense format name: rgb8, bgr8, z16, ..."""

    def __str__(self) -> str:
        return f"{self.stream} {self.width}x{self.height}@{self.fps} {self.format}"


def connected_devices() -> list[rs.device]:
    """The RealSense devices plugged in right now (a fresh librealsense context each call)."""
    return list(rs.context().query_devices())


def _info(device: rs.device, key: rs.camera_info) -> str:
    return device.get_info(key) if device.supports(key) else ""


def list_realsense_devices(devices: DeviceList = connected_devices) -> list[dict[str, str]]:
    """Serial, name, firmware and USB type of every device (use the serials in rig configs)."""
    keys = {"serial": rs.camera_info.serial_number, "name": rs.camera_info.name,
            "firmware": rs.camera_info.firmware_version, "usb": rs.camera_info.usb_type_descriptor}
    return [{k: _info(d, v) for k, v in keys.items()} for d in devices()]


def find_device(serial: str, devices: DeviceList = connected_devices) -> rs.device:
    """The device with `serial` ("" = the only one); `CameraNotFound` listing what is connected otherwise."""
    present = list(devices())
    serials = [_info(d, rs.camera_info.serial_number) for d in present]
    if serial == "" and len(present) == 1:
        return present[0]
    if serial and serial in serials:
        return present[serials.index(serial)]
    wanted = f"serial {serial!r}" if serial else "exactly one device (no serial configured)"
    raise CameraNotFound(f"RealSense: wanted {wanted}; connected: {serials or 'none'}")


def open_device(cfg: RealSenseConfig, devices: DeviceList = connected_devices) -> rs.device:
    """The device `cfg` names: a playback device for `cfg.recording`, else the live device by serial."""
    if not cfg.recording:
        return find_device(cfg.serial, devices)
    if not Path(cfg.recording).is_file():
        raise CameraNotFound(f"RealSense recording {cfg.recording!r} does not exist")
    try:
        return rs.context().load_device(str(cfg.recording))
    except RuntimeError as error:
        raise CameraError(f"cannot play RealSense recording {cfg.recording!r}: {error} (librealsense 2.59 "
                          "records .db3; convert a ROS1 .bag with rs.context().convert_bag_to_db3(bag, db3))"
                          ) from error


def stream_modes(device: rs.device) -> list[StreamMode]:
    """Every colour and depth video profile the device offers."""
    modes = set()
    for sensor in device.query_sensors():
        for profile in sensor.get_stream_profiles():
            kind = profile.stream_type()
            if kind in (rs.stream.color, rs.stream.depth) and profile.is_video_stream_profile():
                video = profile.as_video_stream_profile()
                modes.add(StreamMode(kind.name, video.width(), video.height(), profile.fps(),
                                     profile.format().name))
    return sorted(modes, key=lambda m: (m.stream, m.width, m.height, m.fps, m.format))


def requested_modes(cfg: RealSenseConfig) -> list[StreamMode]:
    """The colour (and depth) modes `cfg` asks for."""
    modes = [StreamMode("color", cfg.width, cfg.height, cfg.fps, cfg.color_format)]
    if cfg.depth:
        modes.append(StreamMode("depth", *cfg.depth_size, cfg.fps, "z16"))
    return modes


def check_modes(device: rs.device, cfg: RealSenseConfig) -> None:
    """Raise `UnsupportedMode` naming the device and listing its modes if `cfg` asks for one it lacks."""
    offered = stream_modes(device)
    for mode in requested_modes(cfg):
        if mode not in offered:
            same = [str(m) for m in offered if m.stream == mode.stream]
            raise UnsupportedMode(f"RealSense {_info(device, rs.camera_info.serial_number)!r} "
                                  f"({_info(device, rs.camera_info.name)}): {mode} is not supported; "
                                  f"supported {mode.stream} modes: {', '.join(same) or 'none'}")


def start_pipeline(device: rs.device, cfg: RealSenseConfig) -> tuple[rs.pipeline, rs.pipeline_profile]:
    """Start a librealsense pipeline streaming `cfg`'s modes from `device`."""
    check_modes(device, cfg)
    if cfg.auto_exposure:
        _enable_auto_exposure(device)
    pipeline = rs.pipeline()
    pipeline.set_device(device)
    config = rs.config()
    config.enable_device(_info(device, rs.camera_info.serial_number))
    color_format = getattr(rs.format, cfg.color_format)
    config.enable_stream(rs.stream.color, cfg.width, cfg.height, color_format, cfg.fps)
    if cfg.depth:
        config.enable_stream(rs.stream.depth, *cfg.depth_size, rs.format.z16, cfg.fps)
    profile = pipeline.start(config)
    if device.is_playback():
        playback = profile.get_device().as_playback()
        playback.set_real_time(cfg.realtime)
    return pipeline, profile


def _enable_auto_exposure(device: rs.device) -> None:
    for sensor in device.query_sensors():
        if sensor.is_color_sensor() and sensor.supports(rs.option.enable_auto_exposure):
            sensor.set_option(rs.option.enable_auto_exposure, 1)


def color_intrinsics(profile: rs.pipeline_profile) -> tuple[Intrinsics, str, tuple[float, ...]]:
    """Pinhole intrinsics (px) of the started colour stream, plus its distortion model name and coefficients
    (which `Intrinsics` does not carry)."""
    i = profile.get_stream(rs.stream.color).as_video_stream_profile().get_intrinsics()
    pinhole = Intrinsics(fx=i.fx, fy=i.fy, cx=i.ppx, cy=i.ppy, width=i.width, height=i.height)
    return pinhole, i.model.name, tuple(float(c) for c in i.coeffs)
