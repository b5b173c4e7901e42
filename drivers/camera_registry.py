"""Camera drivers by name (a plain dict, no import-time registration): rig files say `driver: realsense`.

Factories import their driver lazily, so listing or validating configs needs neither pyrealsense2 nor
OpenCV. The MuJoCo mirror's `SimCamera` needs a running sim and is built by the sim env, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from robot_rl.drivers.base import Camera
from robot_rl.drivers.realsense_config import RealSenseConfig
from robot_rl.drivers.uvc_config import UVCConfig


def _realsense(config: RealSenseConfig) -> Camera:
    from robot_rl.drivers.realsense import RealSenseCamera

    return RealSenseCamera(config)


def _uvc(config: UVCConfig) -> Camera:
    from robot_rl.drivers.uvc import UVCCamera

    return UVCCamera(config)


CAMERA_CONFIGS: dict[str, type] = {"realsense": RealSenseConfig, "uvc": UVCConfig}
"""Driver name → its frozen config dataclass."""

CAMERAS: dict[str, Callable[[Any], Camera]] = {"realsense": _realsense, "uvc": _uvc}
"""Driver name → factory taking that driver's config and returning an open `Camera`."""


def make_camera(driver: str, **fields: Any) -> Camera:
    """Open camera `driver` ("realsense" | "uvc") with config `fields` (e.g. a rig file's camera entry)."""
    if driver not in CAMERAS:
        raise KeyError(f"unknown camera driver {driver!r}; known: {sorted(CAMERAS)}")
    return CAMERAS[driver](CAMERA_CONFIGS[driver](**fields))
