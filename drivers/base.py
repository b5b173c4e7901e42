"""Device interfaces shared by hardware drivers and the MuJoCo mirror (DESIGN §3).

Everything a policy, recorder, reward or reset routine learns about the robot goes through these
two types, so code written against them cannot tell sim from hardware except through the config.
Frames: the arm's base frame (x forward, z up, metres); quaternions are unit, scalar-last (x, y, z, w).
"""

from __future__ import annotations

import abc
import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class ArmState:
    """One sample of the arm's state."""

    time: float
    """Capture time (s): the device clock mapped to host monotonic time; sim time for the mirror."""
    q: np.ndarray
    """Joint positions (7,), rad."""
    dq: np.ndarray
    """Joint velocities (7,), rad/s."""
    ee_pos: np.ndarray
    """Tool-centre-point position (3,), m, base frame."""
    ee_quat: np.ndarray
    """Tool-centre-point orientation (4,), unit quaternion xyzw, base frame."""
    wrench: np.ndarray | None
    """External wrench at the TCP (6,): force N then torque N·m, base frame; None if not measured."""
    gripper: float
    """Gripper opening, 0 = closed, 1 = fully open."""


@dataclasses.dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of a colour image (pixels); depth is aligned to the same grid."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int


@dataclasses.dataclass(frozen=True)
class CameraFrame:
    """One frame from a camera."""

    color: np.ndarray
    """(H, W, 3) uint8 RGB."""
    depth: np.ndarray | None
    """(H, W) float32 metres along the optical axis, aligned to `color`, NaN where invalid; None if off."""
    intrinsics: Intrinsics
    """Pinhole model of `color` (and `depth`)."""
    time: float
    """Capture time (s): device clock mapped to host monotonic time; sim time for the mirror."""
    frame_number: int
    """Frame counter as reported by the device (monotonic within a session)."""
    dropped: int
    """Total frames dropped since the camera opened (never hidden)."""


class Arm(abc.ABC):
    """A 7-DoF arm with gripper commanded by a streamed end-effector target pose."""

    @abc.abstractmethod
    def state(self) -> ArmState:
        """The latest state sample (non-blocking)."""

    @abc.abstractmethod
    def command(self, ee_pos: np.ndarray, ee_quat: np.ndarray, gripper: float) -> None:
        """Stream a new target: TCP position (3,) m and orientation xyzw (4,) in the base frame,
        gripper opening 0..1. Non-blocking; the driver interpolates towards the latest target."""

    @abc.abstractmethod
    def home(self) -> None:
        """Move to the home joint configuration (blocking) and hold it."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop moving now and hold the current pose."""

    @abc.abstractmethod
    def clear_error(self) -> None:
        """Recover from a reflex/error state. Called explicitly, never silently every step."""

    def close(self) -> None:
        """Release the device."""
        return None
        return None


class Camera(abc.ABC):
    """A colour (+ optional aligned depth) camera."""

    name: str
    """Camera name as used in observation keys (`image/<name>`)."""

    @abc.abstractmethod
    def read_latest(self) -> CameraFrame:
        """The newest frame (blocking only until the first frame exists)."""

    def close(self) -> None:
        """Release the device."""
        return None
