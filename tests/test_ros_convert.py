"""Message conversion round trips (image encodings, padded steps, endianness, depth, poses, joints)."""

import numpy as np
import pytest

pytest.importorskip("rclpy")

from robot_rl.drivers.base import Intrinsics  # noqa: E402
from robot_rl.ros import convert  # noqa: E402

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("encoding,shape,dtype", [
    ("rgb8", (5, 7, 3), np.uint8), ("rgba8", (5, 7, 4), np.uint8), ("mono8", (5, 7), np.uint8),
    ("mono16", (5, 7), np.uint16), ("16UC1", (4, 3), np.uint16), ("32FC1", (4, 3), np.float32)])
def test_image_round_trip(encoding, shape, dtype):
    a = (RNG.random(shape) * 1000).astype(dtype)
    msg = convert.numpy_to_image(a, encoding, 12.5, "cam_color_optical_frame")
    assert msg.step == shape[1] * (shape[2] if len(shape) == 3 else 1) * np.dtype(dtype).itemsize
    assert convert.from_stamp(msg.header.stamp) == 12.5 and msg.header.frame_id == "cam_color_optical_frame"
    np.testing.assert_array_equal(convert.image_to_numpy(msg), a)


def _padded(a: np.ndarray, encoding: str, pad: int, big: bool):
    """An Image whose rows carry `pad` extra bytes, in the given byte order."""
    h, w = a.shape[:2]
    data = a.astype(a.dtype.newbyteorder(">" if big else "<")).reshape(h, -1).view(np.uint8)
    rows = np.concatenate([data, np.full((h, pad), 0xAB, np.uint8)], axis=1)
    msg = convert.numpy_to_image(a, encoding, 0.0, "f")
    msg.step, msg.is_bigendian = rows.shape[1], int(big)
    msg.data = rows.tobytes()
    return msg


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("encoding,dtype", [("16UC1", np.uint16), ("32FC1", np.float32), ("rgb8", np.uint8)])
def test_padded_step_and_endianness(encoding, dtype, big):
    shape = (6, 5, 3) if encoding == "rgb8" else (6, 5)
    a = (RNG.random(shape) * 60000).astype(dtype)
    out = convert.image_to_numpy(_padded(a, encoding, pad=6, big=big))
    assert out.dtype.isnative and out.shape == shape
    np.testing.assert_array_equal(out, a)


def test_bgr_and_rgba_to_rgb():
    rgb = RNG.integers(0, 255, (3, 4, 3), dtype=np.uint8)
    bgr = convert.numpy_to_image(rgb[..., ::-1], "bgr8", 0, "f")
    np.testing.assert_array_equal(convert.color_to_rgb(bgr), rgb)
    rgba = np.concatenate([rgb, np.full((3, 4, 1), 7, np.uint8)], -1)
    np.testing.assert_array_equal(convert.color_to_rgb(convert.numpy_to_image(rgba, "rgba8", 0, "f")), rgb)
    bgra = np.concatenate([rgb[..., ::-1], np.full((3, 4, 1), 7, np.uint8)], -1)
    np.testing.assert_array_equal(convert.color_to_rgb(convert.numpy_to_image(bgra, "bgra8", 0, "f")), rgb)


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
def test_depth_round_trip(encoding):
    d = RNG.uniform(0.2, 3.0, (4, 6)).astype(np.float32)
    d[0, 0] = np.nan
    out = convert.image_to_depth(convert.depth_to_image(d, encoding, 1.0, "f"))
    assert out.dtype == np.float32 and np.isnan(out[0, 0])
    np.testing.assert_allclose(out[1:], d[1:], atol=5e-4 if encoding == "16UC1" else 0)


def test_depth_invalid_values():
    mm = np.array([[0, 1000]], np.uint16)
    assert np.isnan(convert.image_to_depth(convert.numpy_to_image(mm, "16UC1", 0, "f"))[0, 0])
    m = np.array([[np.inf, -1.0, 0.0, 1.5]], np.float32)
    out = convert.image_to_depth(convert.numpy_to_image(m, "32FC1", 0, "f"))
    assert np.isnan(out[0, :3]).all() and out[0, 3] == 1.5


def test_bad_images_raise():
    msg = convert.numpy_to_image(np.zeros((2, 2, 3), np.uint8), "rgb8", 0, "f")
    msg.step = 3
    with pytest.raises(ValueError, match="step"):
        convert.image_to_numpy(msg)
    msg.encoding = "yuv422"
    with pytest.raises(ValueError, match="unsupported"):
        convert.image_to_numpy(msg)


def test_stamp_pose_joints_wrench_info():
    for t in (0.0, 1.5, 1234567.000000001, 33.2):
        assert abs(convert.from_stamp(convert.to_stamp(t)) - t) < 1e-9
    pos, quat = np.array([0.1, -0.2, 0.3]), np.array([0.0, 0.6, 0.0, 0.8])
    p2, q2 = convert.msg_to_pose(convert.pose_to_msg(pos, quat, 2.0, "base"))
    np.testing.assert_allclose(p2, pos), np.testing.assert_allclose(q2, quat)
    names = [f"j{i}" for i in range(7)]
    msg = convert.joint_state_msg(names, np.arange(7.0), -np.arange(7.0), 3.0)
    q, dq = convert.joint_state_to_numpy(msg, names[::-1])
    np.testing.assert_array_equal(q, np.arange(7.0)[::-1]), np.testing.assert_array_equal(dq, -q)
    with pytest.raises(KeyError, match="lacks"):
        convert.joint_state_to_numpy(msg, ["nope"])
    w = np.arange(6.0)
    np.testing.assert_array_equal(convert.msg_to_wrench(convert.wrench_to_msg(w, 0, "base")), w)
    intr = Intrinsics(fx=600, fy=601, cx=319.5, cy=239.5, width=640, height=480)
    assert convert.intrinsics_from_info(convert.camera_info(intr, 0, "f")) == intr


def test_named_values_round_trip():
    """The mirror's task state as a JointState: vectors keep their length, scalars stay scalars."""
    values = {"object_pos": np.array([0.5, -0.1, 0.02]), "gripper": [0.7], "success": 1.0, "scene_seed": 3.0}
    msg = convert.values_to_joint_state(values, 4.25, "base")
    assert msg.name[:3] == ["object_pos.0", "object_pos.1", "object_pos.2"] and "success" in msg.name
    assert convert.from_stamp(msg.header.stamp) == 4.25 and msg.header.frame_id == "base"
    back = convert.joint_state_to_values(msg)
    np.testing.assert_allclose(back["object_pos"], values["object_pos"])
    assert back["gripper"].shape == (1,) and back["success"].shape == () and float(back["scene_seed"]) == 3.0
