"""numpy ↔ ROS 2 messages without cv_bridge, on the fast paths measured in notes/ros2.md.

Images: publishing assigns `bytes` (`np.ascontiguousarray(a).tobytes()`, ~0.1 ms for 640×480×3;
assigning the ndarray itself takes ~60 ms). Receiving views `msg.data` with `np.frombuffer` (no copy),
honours a padded `step` and `is_bigendian`, and returns native-endian arrays.
Depth (REP 118): `32FC1` in metres with NaN invalid, `16UC1`/`mono16` in millimetres with 0 invalid
(realsense-ros' default); `image_to_depth` always returns float32 metres with NaN invalid.
Poses are (position (3,) m, quaternion (4,) xyzw) in the message's header frame.
Times are float seconds on the ROS clock (sim time under `use_sim_time`).
"""

from __future__ import annotations

import math
import sys

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped, WrenchStamped
from sensor_msgs.msg import CameraInfo, Image, JointState

from robot_rl.drivers.base import Intrinsics

ENCODINGS: dict[str, tuple[str, int]] = {
    "rgb8": ("u1", 3), "bgr8": ("u1", 3), "rgba8": ("u1", 4), "bgra8": ("u1", 4), "mono8": ("u1", 1),
    "8UC1": ("u1", 1), "8UC3": ("u1", 3), "mono16": ("u2", 1), "16UC1": ("u2", 1), "32FC1": ("f4", 1),
}
"""encoding → (dtype code, channels)."""
_NATIVE_BIG = sys.byteorder == "big"


# ---------------------------------------------------------------------- time
def to_stamp(t: float) -> Time:
    """Float seconds → builtin_interfaces/Time (nanosecond precision, rounded)."""
    ns = int(round(t * 1e9))
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def from_stamp(stamp: Time) -> float:
    """builtin_interfaces/Time → float seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


# ---------------------------------------------------------------------- images
def numpy_to_image(a: np.ndarray, encoding: str, stamp: float, frame_id: str) -> Image:
    """(H, W) or (H, W, C) array → Image with a tight `step`, native byte order."""
    code, ch = ENCODINGS[encoding]
    a = np.ascontiguousarray(a, dtype=np.dtype(code))
    if a.ndim != (2 if ch == 1 else 3) or (ch > 1 and a.shape[2] != ch):
        raise ValueError(f"array of shape {a.shape} does not fit encoding {encoding} ({ch} channels)")
    msg = Image(height=a.shape[0], width=a.shape[1], encoding=encoding, is_bigendian=int(_NATIVE_BIG),
                step=a.shape[1] * ch * a.itemsize)
    msg.header.stamp, msg.header.frame_id = to_stamp(stamp), frame_id
    msg.data = a.tobytes()
    return msg


def image_to_numpy(msg: Image) -> np.ndarray:
    """Image → (H, W) or (H, W, C) native-endian array. For u1 encodings the result is a view of
    `msg.data` (copy it to keep it past the message); padding at the end of rows is dropped."""
    if msg.encoding not in ENCODINGS:
        raise ValueError(f"unsupported image encoding {msg.encoding!r}; supported: {sorted(ENCODINGS)}")
    code, ch = ENCODINGS[msg.encoding]
    h, w, step = msg.height, msg.width, msg.step
    dtype = np.dtype(code).newbyteorder(">" if msg.is_bigendian else "<")
    row = w * ch * dtype.itemsize
    if step < row or len(msg.data) < h * step:
        raise ValueError(f"image {w}x{h} {msg.encoding}: step {step} / {len(msg.data)} bytes too small")
    raw = np.frombuffer(msg.data, np.uint8)[: h * step].reshape(h, step)[:, :row]
    a = (raw if row == step else np.ascontiguousarray(raw)).view(dtype)  # padding dropped: one copy
    a = a.reshape((h, w) if ch == 1 else (h, w, ch))
    return a.astype(dtype.newbyteorder("="), copy=False) if dtype.itemsize > 1 else a


def color_to_rgb(msg: Image) -> np.ndarray:
    """A colour Image (rgb8, bgr8, rgba8, bgra8) → (H, W, 3) uint8 RGB."""
    a = image_to_numpy(msg)
    if msg.encoding in ("rgb8", "8UC3"):
        return a
    if msg.encoding == "bgr8":
        return a[..., ::-1]
    if msg.encoding in ("rgba8", "bgra8"):
        return a[..., :3] if msg.encoding == "rgba8" else a[..., 2::-1]
    raise ValueError(f"{msg.encoding!r} is not a colour encoding")


def depth_to_image(depth_m: np.ndarray, encoding: str, stamp: float, frame_id: str) -> Image:
    """(H, W) float metres, NaN invalid → Image: 32FC1 metres (NaN kept) or 16UC1 millimetres
    (0 = invalid, clipped to 65.535 m)."""
    if encoding == "32FC1":
        return numpy_to_image(np.asarray(depth_m, np.float32), encoding, stamp, frame_id)
    if encoding not in ("16UC1", "mono16"):
        raise ValueError(f"depth encoding must be 32FC1, 16UC1 or mono16, got {encoding!r}")
    mm = np.nan_to_num(np.asarray(depth_m, np.float64) * 1000.0, nan=0.0, posinf=0.0, neginf=0.0)
    return numpy_to_image(np.clip(np.round(mm), 0, 65535).astype(np.uint16), encoding, stamp, frame_id)


def image_to_depth(msg: Image) -> np.ndarray:
    """A depth Image → (H, W) float32 metres, NaN where invalid (0 mm, or non-finite / ≤ 0 m)."""
    a = image_to_numpy(msg)
    if msg.encoding in ("16UC1", "mono16"):
        out = a.astype(np.float32) * np.float32(1e-3)
        out[a == 0] = np.nan
        return out
    if msg.encoding == "32FC1":
        out = a.astype(np.float32, copy=True)
        out[~np.isfinite(out) | (out <= 0)] = np.nan
        return out
    raise ValueError(f"{msg.encoding!r} is not a depth encoding")


# ---------------------------------------------------------------------- camera info
def camera_info(intr: Intrinsics, stamp: float, frame_id: str) -> CameraInfo:
    """Intrinsics → CameraInfo (plumb_bob, no distortion: images are rectified/aligned)."""
    msg = CameraInfo(width=intr.width, height=intr.height, distortion_model="plumb_bob")
    msg.header.stamp, msg.header.frame_id = to_stamp(stamp), frame_id
    msg.d = [0.0] * 5
    msg.k = [intr.fx, 0.0, intr.cx, 0.0, intr.fy, intr.cy, 0.0, 0.0, 1.0]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [intr.fx, 0.0, intr.cx, 0.0, 0.0, intr.fy, intr.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


def intrinsics_from_info(msg: CameraInfo) -> Intrinsics:
    k = msg.k
    return Intrinsics(fx=float(k[0]), fy=float(k[4]), cx=float(k[2]), cy=float(k[5]),
                      width=int(msg.width), height=int(msg.height))


# ---------------------------------------------------------------------- poses, joints, wrench
def pose_to_msg(pos: np.ndarray, quat_xyzw: np.ndarray, stamp: float, frame_id: str) -> PoseStamped:
    msg = PoseStamped()
    msg.header.stamp, msg.header.frame_id = to_stamp(stamp), frame_id
    p, q = msg.pose.position, msg.pose.orientation
    p.x, p.y, p.z = (float(v) for v in pos)
    q.x, q.y, q.z, q.w = (float(v) for v in quat_xyzw)
    return msg


def msg_to_pose(msg: PoseStamped) -> tuple[np.ndarray, np.ndarray]:
    """PoseStamped → position (3,) m, quaternion (4,) xyzw (float64, header frame)."""
    p, q = msg.pose.position, msg.pose.orientation
    return np.array([p.x, p.y, p.z]), np.array([q.x, q.y, q.z, q.w])


def joint_state_msg(names: list[str], q: np.ndarray, dq: np.ndarray | None, stamp: float,
                    effort: np.ndarray | None = None) -> JointState:
    """Joint positions (rad or m), velocities, efforts → JointState (float lists: the fast path)."""
    msg = JointState(name=list(names), position=np.asarray(q, float).tolist())
    msg.header.stamp = to_stamp(stamp)
    if dq is not None:
        msg.velocity = np.asarray(dq, float).tolist()
    if effort is not None:
        msg.effort = np.asarray(effort, float).tolist()
    return msg


def joint_state_to_numpy(msg: JointState, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """JointState → (positions, velocities) ordered as `names` (velocities NaN if absent)."""
    index = {n: i for i, n in enumerate(msg.name)}
    missing = [n for n in names if n not in index]
    if missing:
        raise KeyError(f"joint_states lacks joints {missing}; it has {list(msg.name)}")
    idx = [index[n] for n in names]
    q = np.asarray(msg.position, float)[idx]
    has_dq = len(msg.velocity) == len(msg.name)
    dq = np.asarray(msg.velocity, float)[idx] if has_dq else np.full(len(idx), math.nan)
    return q, dq


def wrench_to_msg(wrench: np.ndarray, stamp: float, frame_id: str) -> WrenchStamped:
    """(6,) force N then torque N·m → WrenchStamped."""
    msg = WrenchStamped()
    msg.header.stamp, msg.header.frame_id = to_stamp(stamp), frame_id
    f, t = msg.wrench.force, msg.wrench.torque
    f.x, f.y, f.z, t.x, t.y, t.z = (float(v) for v in wrench)
    return msg


def msg_to_wrench(msg: WrenchStamped) -> np.ndarray:
    f, t = msg.wrench.force, msg.wrench.torque
    return np.array([f.x, f.y, f.z, t.x, t.y, t.z])


# ---------------------------------------------------------------------- named values (sim task state)
def values_to_joint_state(values: dict[str, np.ndarray | float], stamp: float,
                          frame_id: str = "") -> JointState:
    """Named float vectors → JointState: entry `<key>.<i>` holds element i of vector `key`, a bare `<key>`
    a scalar. For the mirror's privileged task state, where a standard type with a header and names is
    needed (no custom interfaces, DESIGN §6)."""
    names, flat = [], []
    for key, value in values.items():
        v = np.asarray(value, float)
        if v.ndim == 0:
            names.append(key)
            flat.append(float(v))
        else:
            names += [f"{key}.{i}" for i in range(v.size)]
            flat += v.reshape(-1).tolist()
    msg = JointState(name=names, position=flat)
    msg.header.stamp, msg.header.frame_id = to_stamp(stamp), frame_id
    return msg


def joint_state_to_values(msg: JointState) -> dict[str, np.ndarray]:
    """Inverse of `values_to_joint_state`: {key: float64 vector (n,), or a 0-d array for a scalar}."""
    out: dict[str, list[float]] = {}
    scalars = set()
    for name, value in zip(msg.name, msg.position, strict=True):
        key, dot, index = name.rpartition(".")
        if not dot or not index.isdigit():
            key = name
            scalars.add(key)
        out.setdefault(key, []).append(value)
    return {k: np.array(v[0] if k in scalars else v, float) for k, v in out.items()}
