"""Grid alignment and episode recording without ROS: gaps marked, never duplicated, kill-safe store."""

import math

import numpy as np
import pytest

from robot_rl.data.store import EpisodeStore
from robot_rl.ros.alignment import Grid, Sample, Stream
from robot_rl.ros.configs import RecorderNodeConfig
from robot_rl.ros.recording import EpisodeRecorder


def test_grid_phase_and_due():
    g = Grid(10.0, 3.23)
    assert g.time(0) == pytest.approx(3.3)
    assert g.due(3.35, 0.15) == []
    assert g.due(3.55, 0.15) == pytest.approx([3.3, 3.4])
    assert g.due(3.55, 0.15) == []
    assert Grid(10.0, 3.3).time(0) == pytest.approx(3.3)  # a start on the grid is not skipped


def test_unique_stream_marks_gaps_and_never_reuses():
    s = Stream("cam", max_age=0.1, unique=True)
    for k in (0, 1, 2, 5):  # frames at 0.0 .. 0.2, then a drop-out until 0.5
        s.push(Sample(k / 10, {"image/cam": np.full((2, 2, 3), k, np.uint8)}, seq=k))
    got = [s.assemble(t, "cam") for t in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)]
    assert [bool(g["valid/cam"]) for g in got] == [True, True, True, False, False, True]
    assert [int(g["frame_number/cam"]) for g in got] == [0, 1, 2, -1, -1, 5]
    assert (got[3]["image/cam"] == 0).all() and math.isnan(got[3]["capture_time/cam"])
    assert s.gaps == 2
    s.reset()
    assert s.assemble(0.5, "cam")["valid/cam"]  # after a reset the newest frame may be used again
    # a frame newer than the grid time is not used (no look-ahead for observations)
    assert s.pick(0.45) is None


def test_out_of_order_and_window():
    s = Stream("target", max_age=0.1, window=0.1)
    s.push(Sample(0.15, {"x": np.array([2.0])}))
    s.push(Sample(0.05, {"x": np.array([1.0])}))
    assert s.pick(0.0).values["x"][0] == 1.0  # 0.05 lies in (t, t + window]
    assert s.pick(0.1).values["x"][0] == 2.0
    assert s.pick(0.5) is None and np.isnan(s.template["x"]).all()


def _feed(rec: EpisodeRecorder, t0: float, t1: float, drop: tuple[float, float] = (1e9, 1e9)) -> None:
    """Arm at 100 Hz, cameras at 30 Hz (none inside `drop`), targets and gripper at 10 Hz."""
    for k in range(int(t0 * 100), int(t1 * 100)):
        t = k / 100
        arm = {"state/q": np.zeros(7, np.float32), "state/gripper": np.ones(1, np.float32)}
        rec.streams["arm"].push(Sample(t, arm))
        rec.streams["pose"].push(Sample(t, {"state/ee_pos": np.array([0.5, 0, 0.2], np.float32),
                                            "state/ee_quat": np.array([1, 0, 0, 0], np.float32)}))
        if k % 10 == 5:
            rec.streams["target"].push(Sample(t, {"target/ee_pos": np.array([0.51, 0, 0.2], np.float32),
                                                  "target/ee_quat": np.array([1, 0, 0, 0], np.float32)}))
            rec.streams["gripper_cmd"].push(Sample(t, {"target/gripper": np.zeros(1, np.float32)}))
    for n in range(math.ceil(t0 * 30), int(t1 * 30)):
        if not drop[0] <= n / 30 < drop[1]:
            for cam in ("front", "wrist"):
                image = np.full((4, 5, 3), n % 256, np.uint8)
                rec.streams[f"cam/{cam}"].push(Sample(n / 30, {f"image/{cam}": image}, n))


def test_recorder_episodes(tmp_path):
    cfg = RecorderNodeConfig(store=str(tmp_path / "s.zarr"), control_hz=10.0, lag=0.05)
    rec = EpisodeRecorder(cfg)
    with pytest.raises(RuntimeError, match="no data yet"):
        rec.start(0.0)
    _feed(rec, 0.0, 0.05)
    rec.start(0.02)  # first grid time 0.1
    _feed(rec, 0.05, 2.0, drop=(0.5, 0.75))
    rec.tick(1.0)
    rec.label(True)
    assert rec.save(1.25) == 0  # steps 0.1 .. 1.1 (1.1 + 0.1 + 0.05 <= 1.25)
    _feed(rec, 2.0, 2.6)
    rec.start(2.0)
    rec.tick(2.6)
    rec.discard()
    rec.close()
    store = EpisodeStore.open(tmp_path / "s.zarr")
    assert store.n_episodes == 1 and store.episode_meta(0).success
    ep = store.read_episode(0)
    np.testing.assert_allclose(ep["time"], np.arange(1, 12) / 10)
    valid = ep["valid/front"]
    # frames stop after 14/30 s (used at 0.5) until 0.75 s: 0.6 and 0.7 are gaps
    assert list(valid) == [True] * 5 + [False, False] + [True] * 4
    fn = ep["frame_number/front"][valid]
    assert (np.diff(fn) > 0).all()  # never the same frame twice
    assert (ep["capture_time/front"][valid] <= ep["time"][valid] + 1e-9).all()
    assert (ep["image/front"][~valid] == 0).all()
    np.testing.assert_allclose(ep["action"][:, 0], 0.5, rtol=1e-5)  # 1 cm / pos_scale 2 cm
    np.testing.assert_allclose(ep["action"][:, 6], -1.0)  # gripper command 0 → -1
    assert ep["valid/action"].all() and ep["valid/arm"].all()
