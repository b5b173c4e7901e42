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


def test_command_window_is_half_open_and_state_holds():
    """A command stamped exactly at the next grid time belongs to the next step; a state stream with
    `hold` answers a gap with its newest older sample, flagged invalid, never NaN."""
    s = Stream("target", max_age=0.1, window=0.1)
    for t in (0.1, 0.2):
        s.push(Sample(t, {"x": np.array([t])}))
    assert s.pick(0.1).values["x"][0] == 0.1
    arm = Stream("arm", max_age=0.2, hold=True)
    arm.push(Sample(0.0, {"q": np.ones(2)}))
    got = arm.assemble(1.0, "arm")
    assert not got["valid/arm"] and (got["q"] == 1).all()


def test_recorder_reward_terminal_and_task_state(tmp_path):
    """reward / terminal mark the last step of a successful episode only; the mirror's task state adds
    the privileged object state (not the arm's keys twice) and the per-step success."""
    from robot_rl.ros.recording import task_state_values

    cfg = RecorderNodeConfig(store=str(tmp_path / "s.zarr"), control_hz=10.0, lag=0.05,
                             task_state="/sim/task_state")
    rec = EpisodeRecorder(cfg)

    def feed(t0: float, t1: float) -> None:
        _feed(rec, t0, t1)
        for k in range(int(t0 * 100), int(t1 * 100)):
            values = {"ee_pos": np.zeros(3), "object_pos": np.array([0.5, 0.0, k / 1000]),
                      "success": float(k >= 80), "scene_seed": 7.0}
            rec.streams["task_state"].push(Sample(k / 100, task_state_values(values)))

    feed(0.0, 0.05)
    for label in (True, False):
        start = 0.02 if label else 2.02
        feed(start + 0.03, start + 1.5)
        rec.start(start)
        rec.tick(start + 1.0)
        rec.label(label)
        rec.save(start + 1.2)
    rec.close()
    store = EpisodeStore.open(tmp_path / "s.zarr")
    assert "state/ee_pos" in store.keys and "state/scene_seed" not in store.keys
    for i, label in enumerate((True, False)):
        ep = store.read_episode(i)
        assert ep["reward"][-1] == float(label) and ep["terminal"][-1] == label
        assert not ep["reward"][:-1].any() and not ep["terminal"][:-1].any()
        assert ep["valid/task_state"].all() and ep["state/object_pos"].shape[1:] == (3,)
    ep = store.read_episode(0)
    np.testing.assert_array_equal(ep["success"], ep["time"] >= 0.8 - 1e-9)
    assert store.specs["state/object_pos"].units == "m"


def test_recorder_arm_gap_is_flagged_not_nan(tmp_path):
    """The arm stream falling silent mid-episode: steps stay finite (zero-order hold) with valid/arm False."""
    cfg = RecorderNodeConfig(store=str(tmp_path / "s.zarr"), control_hz=10.0, lag=0.05)
    rec = EpisodeRecorder(cfg)
    _feed(rec, 0.0, 0.05)
    rec.start(0.02)
    _feed(rec, 0.05, 0.5)
    for n in range(15, 30):  # cameras and commands go on, the arm says nothing from 0.5 s
        for cam in ("front", "wrist"):
            rec.streams[f"cam/{cam}"].push(Sample(n / 30, {f"image/{cam}": np.zeros((4, 5, 3), np.uint8)}, n))
    rec.tick(1.0)
    assert rec.status()["until"] == pytest.approx(0.3)  # later steps wait for the arm's data (to t + period)
    rec.save(1.0 + cfg.max_wait)  # ... until max_wait: then they are written with the gap flagged
    rec.close()
    ep = EpisodeStore.open(tmp_path / "s.zarr").read_episode(0)
    assert not ep["valid/arm"][-1] and ep["valid/arm"][0] and ep["time"][-1] == pytest.approx(0.8)
    assert np.isfinite(ep["state/q"]).all() and np.isfinite(ep["state/ee_pos"]).all()
