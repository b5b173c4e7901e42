"""`robot-rl sim collect|render` and `run_sim_bench`, run as a user would, at tiny sizes."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np

from robot_rl.bench.sim_bench import run_sim_bench
from robot_rl.cli import main
from robot_rl.data.store import EpisodeStore


def test_collect_writes_labelled_episodes(tmp_path):
    path = tmp_path / "demos.zarr"
    args = ["sim", "collect", "--task", "pick_cube", "--episodes", "2", "--store", str(path),
            "--image-size", "32"]
    assert main(args) == 0
    assert main(args[:4] + ["--episodes", "1", "--store", str(path), "--image-size", "32"]) == 0  # appends
    store = EpisodeStore.open(path)
    assert store.n_episodes == 3
    metas = store.all_meta()
    assert [m.info["seed"] for m in metas] == [0, 1, 2]  # appending continues with new scenes
    assert all(m.success == 1 and m.source == "demo" and m.info["task"] == "pick_cube" for m in metas)
    ep = store.read_episode(0)
    n = len(ep["action"])
    assert ep["image/front"].shape == (n, 32, 32, 3) and ep["image/wrist"].dtype == np.uint8
    assert ep["terminal"][-1] and not ep["terminal"][:-1].any()
    assert ep["reward"][-1] == 1.0 and ep["reward"][:-1].sum() == 0
    np.testing.assert_allclose(np.diff(ep["time"]), 0.1, atol=1e-9)
    assert np.abs(ep["action"]).max() <= 1.0
    assert store.specs["state/ee_pos"].units == "m" and store.specs["state/ee_pos"].frame == "base"
    assert store.attrs["task_config"]["pos_scale"] == 0.02 and "cube" in store.attrs["prompt"]


def test_collect_state_only(tmp_path):
    path = tmp_path / "state.zarr"
    assert main(["sim", "collect", "--task", "drawer_open", "--episodes", "1", "--store", str(path),
                 "--no-images"]) == 0
    store = EpisodeStore.open(path)
    assert not any(k.startswith("image/") for k in store.keys) and "state/handle_pos" in store.keys


def test_render_png_and_video(tmp_path):
    png, mp4 = tmp_path / "peg.png", tmp_path / "peg.mp4"
    assert main(["sim", "render", "--task", "peg_insert", "--out", str(png), "--size", "48"]) == 0
    sheet = iio.imread(png)
    assert sheet.shape == (4 * 48, 4 * 48, 3) and sheet.std() > 5  # 8 frames of front|wrist, 2 per row
    assert main(["sim", "render", "--task", "peg_insert", "--out", str(mp4), "--size", "48"]) == 0
    assert mp4.stat().st_size > 1000


def test_sim_bench_writes_json(tmp_path):
    out = tmp_path / "sim.json"
    run_sim_bench(out, steps=10, image_steps=3, tasks=("pick_cube",))
    result = json.loads(out.read_text())
    assert result["benchmark"] == "sim"
    assert result["env_steps_per_s"] > 0 and result["env_steps_per_s_two_cameras_128"] > 0
