"""Configuration of a UVC (USB video class) camera or a video file read through OpenCV."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class UVCConfig:
    """A colour-only camera through `cv2.VideoCapture`; images in `<name>_color_optical_frame`."""

    name: str = "uvc"
    """Camera name: observation key `image/<name>`; TF frame `<name>_color_optical_frame`."""
    device: str = "0"
    """A V4L2 device index ("0" = /dev/video0), a device path (/dev/video2, /dev/v4l/by-id/...), or a
    video file (anything else: .avi, .mp4, ...), which is played back through the same API."""
    width: int = 0
    """Image width (px); 0 = the device's current mode / the file's size."""
    height: int = 0
    """Image height (px); 0 = the device's current mode / the file's size."""
    fps: float = 0.0
    """Frame rate (Hz) requested from the device; 0 = its current rate. Files play at their own rate."""
    fourcc: str = "MJPG"
    """Pixel format asked of a live device (MJPG: high resolution at 30 Hz over USB 2); "" = keep current."""
    hfov_deg: float = 70.0
    """Nominal horizontal field of view (deg) for the pinhole model when `fx` is 0."""
    fx: float = 0.0
    """Focal length x (px) from a calibration; 0 = nominal from `hfov_deg`."""
    fy: float = 0.0
    """Focal length y (px); 0 = `fx` (square pixels)."""
    cx: float = -1.0
    """Principal point x (px); negative = image centre (width − 1) / 2."""
    cy: float = -1.0
    """Principal point y (px); negative = image centre (height − 1) / 2."""
    warmup_frames: int = 10
    """Live devices: frames discarded after every (re)open while auto-exposure settles (files: none)."""
    timeout_s: float = 1.0
    """Live devices: no frame for this long (s) = disconnected (`CameraDisconnected`), then reconnect."""
    first_frame_timeout_s: float = 5.0
    """How long (s) `read_latest` may block for the first frame after opening."""
    reconnect_interval_s: float = 0.5
    """Pause (s) between attempts to reopen a lost live device."""
    realtime: bool = True
    """Files: play at the file's frame rate like a live camera; False = lock-step, each frame handed to
    readers once and in order (the next is decoded only after the previous was read)."""
    loop: bool = False
    """Files: start over at the end instead of raising `RecordingEnded`."""

    @property
    def is_file(self) -> bool:
        """Whether `device` names a video file rather than a V4L2 device."""
        return not (self.device.isdigit() or self.device.startswith("/dev/"))
