"""UVCCamera reads a video file the tests write with OpenCV, through the same API as a live UVC device."""

from __future__ import annotations

import math
import subprocess
import time

import cv2
import numpy as np
import pytest

from robot_rl.drivers.base import Camera, Intrinsics
from robot_rl.drivers.camera_errors import CameraError, CameraNotFound, RecordingEnded, UnsupportedMode
from robot_rl.drivers.uvc import UVCCamera, missed_frames, nominal_intrinsics
from robot_rl.drivers.uvc_config import UVCConfig

W, H, FPS, N = 64, 48, 30.0, 12


def colour(k: int) -> np.ndarray:
    """RGB colour of frame k: distinct red and green ramps, blue constant (tells RGB from BGR)."""
    return np.array([20 * k % 256, 255 - 20 * k % 256, 60], np.uint8)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("uvc") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (W, H))
    assert writer.isOpened()
    for k in range(N):
        writer.write(np.broadcast_to(colour(k)[::-1], (H, W, 3)).copy())  # VideoWriter takes BGR
    writer.release()
    return str(path)


def test_file_frames_in_order_rgb_with_media_time(video):
    with UVCCamera(UVCConfig(name="scene", device=video, realtime=False, hfov_deg=90.0)) as cam:
        assert isinstance(cam, Camera) and cam.frame_id == "scene_color_optical_frame"
        i = cam.intrinsics  # 90° horizontal FOV over 64 px: f = 32 px
        assert (i.fx, i.fy, i.cx, i.cy, i.width, i.height) == pytest.approx((32, 32, 31.5, 23.5, W, H))
        frames = [cam.read_next(2.0) for _ in range(N)]
        with pytest.raises(RecordingEnded, match="clip.avi"):
            cam.read_next(2.0)
    assert [f.frame_number for f in frames] == list(range(N))
    for k, frame in enumerate(frames):
        assert frame.color.shape == (H, W, 3) and frame.color.dtype == np.uint8 and frame.depth is None
        np.testing.assert_allclose(frame.color.reshape(-1, 3).mean(0), colour(k), atol=6)  # MJPG is lossy
        assert frame.dropped == 0
    np.testing.assert_allclose(np.diff([f.time for f in frames]), 1 / FPS, atol=1e-6)  # file media time


def test_frames_missing_from_a_file_count_as_dropped(video, tmp_path):
    """Re-encode the clip without frame 5, keeping the other frames' timestamps (imageio-ffmpeg's ffmpeg)."""
    import imageio_ffmpeg

    gap = tmp_path / "gap.mkv"
    drop_frame_5 = ["-vf", "select='not(eq(n,5))'", "-fps_mode", "passthrough", "-c:v", "mjpeg"]
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", video, *drop_frame_5,
                    str(gap)], check=True)
    with UVCCamera(UVCConfig(device=str(gap), realtime=False)) as cam:
        frames = [cam.read_next(2.0) for _ in range(N - 1)]
    assert [f.frame_number for f in frames] == [k for k in range(N) if k != 5]
    assert [f.dropped for f in frames] == [0] * 5 + [1] * (N - 6)
    np.testing.assert_allclose(frames[5].color.reshape(-1, 3).mean(0), colour(6), atol=6)


def test_file_plays_in_real_time_and_loops(video):
    start = time.monotonic()
    with UVCCamera(UVCConfig(device=video, loop=True)) as cam:
        numbers = []
        while len(numbers) < N + 3:
            frame = cam.read_next(2.0)
            numbers.append(frame.frame_number)
            assert frame.time <= time.monotonic()
        elapsed = time.monotonic() - start
    assert numbers[N - 3:N + 1] == [N - 3, N - 2, N - 1, 0]  # loops back to the start
    assert numbers == sorted(numbers[:N]) + numbers[N:] and len(set(numbers[:N])) == len(numbers[:N])
    assert elapsed > (N + 1) / FPS * 0.9  # paced at the file's 30 Hz, not as fast as decoding


def test_configured_intrinsics_and_nominal_fov():
    cfg = UVCConfig(fx=500.0, fy=502.0, cx=320.5, cy=240.5)
    assert nominal_intrinsics(cfg, 640, 480) == Intrinsics(500.0, 502.0, 320.5, 240.5, 640, 480)
    nominal = nominal_intrinsics(UVCConfig(hfov_deg=60.0), 640, 480)
    assert nominal.fx == pytest.approx(320 / math.tan(math.radians(30))) and nominal.fy == nominal.fx


def test_live_drop_estimate_from_frame_intervals():
    period = 1 / 30
    assert missed_frames(period, period) == 0 and missed_frames(1.4 * period, period) == 0
    assert missed_frames(2 * period, period) == 1 and missed_frames(0.5, period) == 14


def test_missing_file_or_device_and_wrong_size_are_clear_errors(video, tmp_path):
    with pytest.raises(CameraNotFound, match="nothere.avi"):
        UVCCamera(UVCConfig(device=str(tmp_path / "nothere.avi")))
    with pytest.raises(CameraNotFound, match="cannot open '/dev/video97'"):
        UVCCamera(UVCConfig(device="/dev/video97"))
    with pytest.raises(UnsupportedMode, match=r"asked 640x480.*delivers 64x48"):
        UVCCamera(UVCConfig(device=video, width=640, height=480))


def test_first_read_blocks_and_reads_after_close_fail(video):
    cam = UVCCamera(UVCConfig(device=video, realtime=False))
    assert cam.read_latest().frame_number == 0  # waited for the first frame
    assert cam.read_next(2.0).frame_number == 1
    cam.close()
    with pytest.raises(CameraError, match="closed"):
        cam.read_latest()


def test_registry_opens_drivers_by_name(video):
    from robot_rl.drivers.camera_registry import CAMERAS, make_camera

    assert sorted(CAMERAS) == ["realsense", "uvc"]
    with make_camera("uvc", name="side", device=video, realtime=False) as cam:
        assert isinstance(cam, UVCCamera) and cam.read_latest().frame_number == 0
    with pytest.raises(KeyError, match="known"):
        make_camera("kinect")
