"""RealSenseCamera against the real librealsense pipeline: frames are injected into `rs.software_device`s
(sync, align, recorder and playback are librealsense's own), never mocked.

Skipped only when pyrealsense2 cannot be imported (no wheel for this platform/Python): then there is no
librealsense to test against at all.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

rs = pytest.importorskip("pyrealsense2", reason="pyrealsense2 (librealsense) has no wheel for this Python")

from robot_rl.drivers.base import Camera, Intrinsics  # noqa: E402
from robot_rl.drivers.camera_errors import (  # noqa: E402
    CameraDisconnected,
    CameraError,
    CameraNotFound,
    RecordingEnded,
    UnsupportedMode,
)
from robot_rl.drivers.clock_sync import ClockMapper  # noqa: E402
from robot_rl.drivers.realsense import RealSenseCamera  # noqa: E402
from robot_rl.drivers.realsense_config import RealSenseConfig  # noqa: E402
from robot_rl.drivers.realsense_device import list_realsense_devices  # noqa: E402
from robot_rl.drivers.realsense_software import SoftwareRealSense, pattern  # noqa: E402

W, H = 64, 48


def config(**kw) -> RealSenseConfig:
    base = dict(name="wrist", serial="111", width=W, height=H, fps=30, warmup_frames=2, timeout_s=0.5,
                reconnect_interval_s=0.05)
    return RealSenseConfig(**{**base, **kw})


@pytest.fixture
def cameras():
    """Opens cameras and closes every one of them after the test."""
    opened = []

    def open_camera(cfg, devices):
        cam = RealSenseCamera(cfg, devices=devices)
        opened.append(cam)
        return cam

    yield open_camera
    for cam in opened:
        cam.close()


def check_pattern(frame, fn: int, units: float = 0.001, aligned: bool = True) -> None:
    """`frame` holds `pattern(fn)`: exact RGB; depth in metres, NaN where raw was 0 (column 0), aligned to
    colour: the software device's depth sensor sits 15 mm beside colour (f = 50 px), so at ~0.5 m the
    depth image lands 1.5 px over and columns 0-1 of the colour grid have no depth."""
    color, raw = pattern(fn, W, H)
    assert frame.frame_number == fn
    assert frame.color.dtype == np.uint8 and frame.color.shape == (H, W, 3)
    np.testing.assert_array_equal(frame.color, color)  # RGB order kept, not BGR
    assert frame.depth.dtype == np.float32 and frame.depth.shape == (H, W)
    assert np.isnan(frame.depth[:, 0]).all()  # raw 0 = no depth → NaN, never 0 m
    assert np.isnan(frame.depth[:, 1]).all() == aligned
    valid = frame.depth[:, 2:][~np.isnan(frame.depth[:, 2:])]
    assert valid.size > 0.9 * H * (W - 2)  # rs.align leaves the odd rounding hole, nothing more
    np.testing.assert_allclose(valid, raw[0, W // 2] * units, rtol=1e-6)


def test_frames_are_rgb_with_metric_depth_intrinsics_and_capture_time(cameras):
    sw = SoftwareRealSense("111")
    cam = cameras(config(), lambda: [sw.device])
    assert isinstance(cam, Camera) and cam.frame_id == "wrist_color_optical_frame"
    assert cam.intrinsics == Intrinsics(fx=50.0, fy=50.0, cx=31.5, cy=23.5, width=W, height=H)
    assert cam.depth_scale == pytest.approx(0.001)
    for fn in (1, 2):  # warm-up: consumed, never returned
        sw.inject_pattern(fn, time.monotonic() * 1000)  # a device clock that runs with the host's
        with pytest.raises(CameraDisconnected, match="no new frame"):
            cam.read_next(0.1)
    for fn in (3, 4, 5):
        time.sleep(1 / 30)
        injected = time.monotonic()
        sw.inject_pattern(fn, injected * 1000)
        frame = cam.read_next(2.0)
        check_pattern(frame, fn)
        assert frame.dropped == 0 and frame.intrinsics == cam.intrinsics
        assert injected - 0.05 < frame.time <= time.monotonic()  # device clock mapped to host monotonic
    assert cam.read_latest() is frame  # no new frameset: the same (cached) frame


def test_device_depth_units_are_applied():
    sw = SoftwareRealSense("111", depth_units=0.0001)  # 100 µm units, as on a D405
    # unaligned: pattern depth is only ~5 cm in these units, where alignment would shift it 15 px
    with RealSenseCamera(config(warmup_frames=0, align=False), devices=lambda: [sw.device]) as cam:
        assert cam.depth_scale == pytest.approx(0.0001)
        sw.inject_pattern(7, 1000.0)
        check_pattern(cam.read_next(2.0), 7, units=0.0001, aligned=False)


def test_bgr_device_stream_is_returned_as_rgb():
    sw = SoftwareRealSense("111", color_format="bgr8")
    with RealSenseCamera(config(warmup_frames=0, color_format="bgr8"), devices=lambda: [sw.device]) as cam:
        sw.inject_pattern(9, 1000.0)
        check_pattern(cam.read_next(2.0), 9)


def test_unaligned_depth_stays_on_its_grid():
    sw = SoftwareRealSense("111")
    with RealSenseCamera(config(warmup_frames=0, align=False), devices=lambda: [sw.device]) as cam:
        sw.inject_pattern(4, 1000.0)
        check_pattern(cam.read_next(2.0), 4, aligned=False)


def test_dropped_frames_are_counted(cameras):
    sw = SoftwareRealSense("111")
    cam = cameras(config(warmup_frames=0), lambda: [sw.device])
    # 4 never arrives (a frame-number gap); 6 arrives without depth; 8 without colour
    plan = {1: "both", 2: "both", 3: "both", 5: "both", 6: "color", 7: "both", 8: "depth", 9: "both",
            10: "both"}
    expected_dropped = {1: 0, 2: 0, 3: 0, 5: 1, 7: 2, 9: 3, 10: 3}
    for fn, streams in plan.items():
        sw.inject_pattern(fn, 1000 + fn * 1000 / 30, color=streams != "depth", depth=streams != "color")
        if fn in expected_dropped:
            frame = cam.read_next(2.0)
            check_pattern(frame, fn)
            assert frame.dropped == expected_dropped[fn], fn
        else:
            with pytest.raises(CameraDisconnected):  # nothing published for an incomplete frame
                cam.read_next(0.1)
    assert cam.dropped == 3


def test_clock_mapping_uses_device_time_and_reanchors_on_jumps(cameras):
    """Frames are injected on a 10 ms schedule with device timestamps on the same schedule; one frame is
    delivered 40 ms late. Capture times must follow the device clock (not arrival) and survive the device
    clock jumping back 1000 s and forward 100 s."""
    sw = SoftwareRealSense("111", fps=100)
    cam = cameras(config(fps=100, warmup_frames=0, timeout_s=1.0), lambda: [sw.device])
    dt, start, device_ms = 0.01, time.monotonic() + 0.02, 5.0e6
    jumps = {30: -1.0e6, 45: 1.0e5}
    for k in range(60):
        device_ms += jumps.get(k, 0.0) + dt * 1000
        scheduled = start + k * dt
        time.sleep(max(0.0, scheduled + (0.04 if k == 15 else 0.0) - time.monotonic()))
        arrival = time.monotonic()
        sw.inject_pattern(k + 1, device_ms)
        frame = cam.read_next(2.0)
        assert frame.frame_number == k + 1
        if k in (15, 35, 50):  # the late frame, and frames after each jump (the window has refilled)
            assert scheduled - 1e-3 <= frame.time < scheduled + 0.02, (k, frame.time - scheduled)
        if k == 15:
            assert arrival - frame.time > 0.03  # stamped at capture, not at (late) arrival
        if k in (30, 45):  # first frame after a jump: re-anchored to its own arrival, not 1000 s off
            assert abs(frame.time - arrival) < 0.05, (k, frame.time - arrival)
    assert cam.clock_resets == 2 and cam.dropped == 0


def test_clock_mapper_follows_drift_and_ignores_late_samples():
    rng = np.random.default_rng(0)
    clock = ClockMapper(period_s=1 / 30, window=60)
    errors = []
    for k in range(600):
        device = 1000.0 + k / 30 * (1 + 100e-6)  # device clock 100 ppm fast, offset 1000 s
        true_capture = k / 30
        delay = 0.002 + (rng.exponential(0.01) if rng.random() < 0.5 else 0.0)
        errors.append(clock.map(device, true_capture + delay) - true_capture)
    assert max(errors[60:]) < 0.0035 and min(errors[60:]) >= 0.0019  # ≈ the 2 ms minimum latency
    assert clock.resets == 0
    clock.map(10.0, 21.0)  # clock went backwards: re-anchor
    assert clock.resets == 1
    assert clock.map(10.0 + 1 / 30, 21.0 + 1 / 30 + 0.005) == pytest.approx(21.0 + 1 / 30)  # new anchor


def test_unsupported_mode_and_missing_serial_are_clear_errors():
    sw = SoftwareRealSense("111", extra_color_modes=[(1280, 720, 30)])
    with pytest.raises(UnsupportedMode) as error:
        RealSenseCamera(config(width=1920, height=1080), devices=lambda: [sw.device])
    message = str(error.value)
    assert "'111'" in message and "color 1920x1080@30 rgb8 is not supported" in message
    assert "color 64x48@30 rgb8" in message and "color 1280x720@30 rgb8" in message
    with pytest.raises(UnsupportedMode, match="color 64x48@60 rgb8 is not supported"):
        RealSenseCamera(config(fps=60), devices=lambda: [sw.device])
    with pytest.raises(CameraNotFound, match=r"serial '999'.*\['111'\]"):
        RealSenseCamera(config(serial="999"), devices=lambda: [sw.device])
    with pytest.raises(ValueError, match="color_format"):
        config(color_format="yuyv")


def test_two_cameras_selected_by_serial(cameras):
    a, b = SoftwareRealSense("AAA"), SoftwareRealSense("BBB")
    devices = lambda: [a.device, b.device]  # noqa: E731
    assert [d["serial"] for d in list_realsense_devices(devices)] == ["AAA", "BBB"]
    with pytest.raises(CameraNotFound, match="exactly one"):
        RealSenseCamera(config(serial=""), devices=devices)
    cam_b = cameras(config(name="front", serial="BBB", warmup_frames=0), devices)
    cam_a = cameras(config(name="wrist", serial="AAA", warmup_frames=0), devices)
    a.inject_pattern(10, 1000.0)
    b.inject_pattern(20, 5000.0)
    check_pattern(cam_a.read_next(2.0), 10)
    check_pattern(cam_b.read_next(2.0), 20)
    assert (cam_a.serial, cam_b.serial) == ("AAA", "BBB")


class Injector(threading.Thread):
    """Streams `pattern` frames at 100 Hz into whatever device `bus['111']` holds, while `running`."""

    def __init__(self, bus: dict) -> None:
        super().__init__(daemon=True)
        self.bus, self.running, self.stop = bus, threading.Event(), threading.Event()
        self.fn, self.running_since = 0, 0.0

    def run(self) -> None:
        while not self.stop.wait(0.01):
            if self.running.is_set() and "111" in self.bus:
                self.fn += 1
                self.bus["111"].inject_pattern(self.fn, time.monotonic() * 1000)


def wait_for(read, exception=None, timeout=3.0):
    """Call `read` until it returns (or, with `exception`, until it raises that); return the result."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = read()
            if exception is None:
                return result
        except CameraError as error:
            if exception is not None and isinstance(error, exception):
                return error
            if time.monotonic() > deadline:
                raise
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_unplugged_device_raises_then_reconnects(cameras):
    bus = {"111": SoftwareRealSense("111", fps=100)}
    injector = Injector(bus)
    injector.running.set()
    injector.start()
    try:
        devices = lambda: [d.device for d in bus.values()]  # noqa: E731
        cam = cameras(config(fps=100, timeout_s=0.2, first_frame_timeout_s=2.0), devices)
        first = cam.read_latest()
        assert first.frame_number > 2
        injector.running.clear()  # unplug: frames stop, and the serial disappears
        del bus["111"]
        error = wait_for(cam.read_latest, CameraDisconnected)
        assert "serial 111" in str(error) and "disconnected" in str(error)
        time.sleep(0.2)  # reconnection attempts fail while it is gone, and say why
        with pytest.raises(CameraDisconnected, match="last attempt.*111"):
            cam.read_latest()
        injector.fn = 0  # plug a (new) device with the same serial back in: its counter restarts
        bus["111"] = SoftwareRealSense("111", fps=100)
        injector.running.set()
        again = wait_for(cam.read_latest)
        assert again.frame_number < first.frame_number + 50 and again.time > first.time
        check_pattern(again, again.frame_number)
        assert cam.disconnects == 1
        assert again.dropped >= 10  # the outage (≥ 0.2 s at 100 Hz) is counted, not hidden
    finally:
        injector.stop.set()
        injector.join()


def test_stalled_stream_raises_then_recovers_on_the_same_device(cameras):
    bus = {"111": SoftwareRealSense("111", fps=100)}
    injector = Injector(bus)
    injector.running.set()
    injector.start()
    try:
        cam = cameras(config(fps=100, timeout_s=0.2), lambda: [bus["111"].device])
        before = wait_for(cam.read_latest)
        injector.running.clear()  # the device stays, its frames stop (a USB stall)
        wait_for(cam.read_latest, CameraDisconnected)
        time.sleep(0.3)
        injector.running.set()
        after = wait_for(lambda: cam.read_next(0.5))
        assert after.frame_number > before.frame_number and cam.disconnects >= 1
        check_pattern(after, after.frame_number)
    finally:
        injector.stop.set()
        injector.join()


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A recording made here: software device REC1, frames 1-12 at 30 Hz, frame 7 lost."""
    path = tmp_path_factory.mktemp("realsense") / "session.db3"
    sw = SoftwareRealSense("REC1")
    with sw.recording(path):
        for fn in range(1, 13):
            if fn != 7:
                sw.inject_pattern(fn, 2.0e6 + fn * 1000 / 30)
            time.sleep(1 / 30)
    assert path.stat().st_size > 0
    return path


def test_recording_made_here_plays_back_through_the_same_path(recording, cameras):
    path = recording
    cam = cameras(config(serial="", recording=str(path), warmup_frames=0), lambda: [])
    assert cam.serial == "REC1" and cam.depth_scale == pytest.approx(0.001)
    frames = []
    with pytest.raises(RecordingEnded, match="session.db3"):
        for _ in range(40):  # bounded: a player that never ends must fail, not hang
            frames.append(cam.read_next(2.0))
    numbers = [f.frame_number for f in frames]
    assert numbers == sorted(set(numbers)) and set(numbers) <= set(range(1, 13)) - {7}
    assert len(numbers) >= 8 and numbers[-1] == 12
    for frame in frames:
        check_pattern(frame, frame.frame_number)
    assert frames[-1].dropped == 1 and np.all(np.diff([f.time for f in frames]) > 0)


def test_missing_or_corrupt_recording_is_a_clear_error(tmp_path):
    with pytest.raises(CameraNotFound, match="nothere.db3"):
        RealSenseCamera(config(recording=str(tmp_path / "nothere.db3")), devices=lambda: [])
    (tmp_path / "junk.bag").write_bytes(b"#ROSBAG V2.0\n")
    with pytest.raises(CameraError, match="junk.bag.*convert_bag_to_db3"):
        RealSenseCamera(config(recording=str(tmp_path / "junk.bag")), devices=lambda: [])


def test_looping_recording_starts_over(recording, cameras):
    cam = cameras(config(serial="REC1", recording=str(recording), warmup_frames=0, loop=True), lambda: [])
    numbers = [cam.read_next(2.0).frame_number for _ in range(14)]
    restart = next(i for i in range(1, len(numbers)) if numbers[i] < numbers[i - 1])
    assert numbers[restart - 1] == 12 and numbers[restart] <= 3 and cam.disconnects == 0


def test_latency_benchmark_runs_through_the_driver():
    from robot_rl.bench.devices_bench import camera_read_latency

    result = camera_read_latency(n=20, width=W, height=H, fps=100)
    assert 0 < result["camera_read_latency_p50_ms"] <= result["camera_read_latency_p99_ms"] < 500
    assert result["camera_frames"] == 20 and result["camera_dropped"] == 0
