"""Configuration of one Intel RealSense camera (live device by serial, or a recording)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class RealSenseConfig:
    """One RealSense camera: colour (RGB) plus optional depth aligned to colour.

    Images are in the `<name>_color_optical_frame` (x right, y down, z forward, metres); depth is aligned
    to the colour grid, so the colour intrinsics describe both.
    """

    name: str = "realsense"
    """Camera name: observation keys `image/<name>`, `depth/<name>`; TF frame `<name>_color_optical_frame`."""
    serial: str = ""
    """Device serial number (printed on the camera, or `list_realsense_devices()`); "" = the only
    connected device (an error if there are several)."""
    recording: str = ""
    """Play this librealsense recording (.db3; legacy ROS1 .bag) instead of a live device."""
    loop: bool = False
    """Recordings only: start over at the end instead of raising `RecordingEnded`."""
    realtime: bool = True
    """Recordings only: play at the recorded rate (False: as fast as the driver reads)."""
    width: int = 640
    """Colour image width (px)."""
    height: int = 480
    """Colour image height (px)."""
    fps: int = 30
    """Frame rate (Hz) of colour and depth."""
    color_format: str = "rgb8"
    """Colour stream format requested from the device: rgb8 or bgr8 (either is returned as RGB)."""
    depth: bool = True
    """Stream depth, returned in metres aligned to colour (False: `CameraFrame.depth` is None)."""
    depth_width: int = 0
    """Depth stream width (px) before alignment; 0 = same as colour."""
    depth_height: int = 0
    """Depth stream height (px) before alignment; 0 = same as colour."""
    align: bool = True
    """Align depth to colour on the host (librealsense `rs.align`). False only for devices whose depth is
    already registered to colour (e.g. D405 sharing one imager); depth must then have the colour size."""
    warmup_frames: int = 30
    """Framesets discarded after every (re)start while auto-exposure settles (not counted as dropped)."""
    auto_exposure: bool = True
    """Enable colour auto-exposure on the device (when the sensor supports the option)."""
    timeout_s: float = 1.0
    """No frameset for this long (s) = disconnected: `read_latest` raises `CameraDisconnected`."""
    first_frame_timeout_s: float = 5.0
    """How long (s) `read_latest` may block for the first frame after opening (includes warm-up)."""
    reconnect_interval_s: float = 0.5
    """Pause (s) between reconnection attempts while the device is missing."""
    clock_window: int = 90
    """Frames in the device→host clock offset window (minimum of arrival − device time)."""
    clock_jump_periods: float = 5.0
    """A device-timestamp step off by more than this many frame periods re-anchors the clock mapping."""

    @property
    def depth_size(self) -> tuple[int, int]:
        """(width, height) of the depth stream in px."""
        return (self.depth_width or self.width, self.depth_height or self.height)

    def __post_init__(self) -> None:
        if self.color_format not in ("rgb8", "bgr8"):
            raise ValueError(f"color_format must be rgb8 or bgr8, got {self.color_format!r}")
        if min(self.width, self.height, self.fps) <= 0 or self.warmup_frames < 0:
            raise ValueError(f"bad mode {self.width}x{self.height}@{self.fps}, warmup {self.warmup_frames}")
        if self.depth and not self.align and self.depth_size != (self.width, self.height):
            raise ValueError("align=False needs depth of the colour size (depth stays on its own grid)")
