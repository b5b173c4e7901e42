"""Errors raised by the camera drivers (RealSense, UVC): one hierarchy so callers can catch `CameraError`."""

from __future__ import annotations


class CameraError(RuntimeError):
    """Any camera failure: bad configuration, missing device, lost stream."""


class CameraNotFound(CameraError):
    """The requested device (serial, index, path or file) does not exist."""


class UnsupportedMode(CameraError, ValueError):
    """The requested resolution / frame rate / format is not offered; the message lists the device's modes."""


class CameraDisconnected(CameraError):
    """Frames stopped arriving (unplugged, USB reset, driver error). The driver keeps trying to reconnect;
    `read_latest` raises this until frames flow again."""


class RecordingEnded(CameraError):
    """A recording (.db3/.bag, video file) played to its end and does not loop."""
