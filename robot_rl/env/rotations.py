"""Quaternion helpers in the interface convention: unit quaternions, scalar last (x, y, z, w).

Rotation vectors are axis·angle (rad). All functions take and return numpy float64 arrays.
"""

from __future__ import annotations

import numpy as np


def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    return np.asarray(q, dtype=float)[[3, 0, 1, 2]]


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    return np.asarray(q, dtype=float)[[1, 2, 3, 0]]


def normalize(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=float)
    return q / np.linalg.norm(q)


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a ⊗ b (apply b, then a)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array([
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ])


def conjugate(q: np.ndarray) -> np.ndarray:
    return np.array([-q[0], -q[1], -q[2], q[3]], dtype=float)


def from_rotvec(v: np.ndarray) -> np.ndarray:
    """Quaternion of rotation vector `v` (3,) rad."""
    v = np.asarray(v, dtype=float)
    angle = float(np.linalg.norm(v))
    if angle < 1e-12:
        return np.array([0.5 * v[0], 0.5 * v[1], 0.5 * v[2], 1.0]) / np.sqrt(1 + 0.25 * angle**2)
    axis = v / angle
    return np.concatenate([axis * np.sin(angle / 2), [np.cos(angle / 2)]])


def to_rotvec(q: np.ndarray) -> np.ndarray:
    """Rotation vector (3,) rad of quaternion `q`, angle in [0, π]."""
    q = normalize(q)
    if q[3] < 0:
        q = -q
    s = float(np.linalg.norm(q[:3]))
    if s < 1e-12:
        return 2.0 * q[:3]
    return q[:3] / s * 2.0 * np.arctan2(s, q[3])


def difference(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Rotation vector r (base frame) with from_rotvec(r) ⊗ current = target."""
    return to_rotvec(multiply(target, conjugate(current)))


def angle_between(a: np.ndarray, b: np.ndarray) -> float:
    """Rotation angle (rad) taking `b` to `a`."""
    return float(np.linalg.norm(difference(a, b)))


def from_euler_xyz(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Extrinsic x-y-z (roll about x, then pitch about y, then yaw about z, base frame)."""
    return multiply(from_rotvec([0, 0, yaw]), multiply(from_rotvec([0, pitch, 0]), from_rotvec([roll, 0, 0])))
