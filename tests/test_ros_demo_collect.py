"""Demonstrations over ROS with no human: sim_node, expert_teleop, teleop_bridge and recorder_node as real
processes, episodes driven through the recorder's services by the scripted operator; a dead node is
reported by name."""

import itertools
import os
import time

import numpy as np
import pytest

pytest.importorskip("rclpy")

from robot_rl.data.store import EpisodeStore  # noqa: E402
from robot_rl.ros.client import GraphClient  # noqa: E402
from robot_rl.ros.demo_collect import _check_alive, collect_over_ros, graph_overrides, ros_environment  # noqa: E402
from robot_rl.ros.graph import GRAPHS  # noqa: E402
from robot_rl.ros.operator_loop import Operator  # noqa: E402
from robot_rl.ros.runner import GraphProcesses  # noqa: E402

_DOMAINS = itertools.count()


@pytest.fixture
def domain(monkeypatch):
    """A private DDS domain on loopback for this test."""
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    return 20 + (os.getpid() * 7 + 3 + next(_DOMAINS)) % 200


def test_collect_over_ros_two_episodes(domain, tmp_path):
    store = tmp_path / "demos.zarr"
    start = time.monotonic()
    summary = collect_over_ros("pick_cube", 2, store, image_size=32, domain_id=domain, progress=False)
    assert time.monotonic() - start < 60
    assert summary["episodes"] == 2 and summary["s_per_episode"] > 0
    db = EpisodeStore.open(store)
    assert db.n_episodes == 2 and db.attrs.get("prompt")  # VLM reward backends read the prompt
    for key in ("image/front", "image/wrist", "state/ee_pos", "state/q", "state/gripper", "state/object_pos",
                "state/object_quat", "action", "reward", "terminal", "success", "time"):
        assert key in db.keys, key
    scenes = []
    for i, outcome in enumerate(summary["outcomes"]):
        meta, ep = db.episode_meta(i), db.read_episode(i)
        assert meta.success == outcome["success"]
        # the operator's label agrees with the mirror's predicate: a success has held at the end
        assert bool(ep["success"][-3:].all()) == outcome["success"]
        assert ep["reward"][-1] == float(outcome["success"]) and not ep["reward"][:-1].any()
        t = ep["time"]
        np.testing.assert_allclose(np.diff(t), 0.1, atol=1e-6)
        for cam in ("front", "wrist"):
            assert ep[f"image/{cam}"].shape[1:] == (32, 32, 3) and ep[f"image/{cam}"].max() > 0
            capture = ep[f"capture_time/{cam}"][ep[f"valid/{cam}"]]
            assert (np.diff(capture) > 0).all() and (capture <= t[ep[f"valid/{cam}"]] + 1e-9).all()
        assert np.isfinite(ep["state/q"]).all() and np.isfinite(ep["state/object_pos"]).all()
        assert ep["valid/action"].mean() > 0.8 and np.abs(ep["action"]).max() <= 1.0
        assert ep["state/gripper"][0, 0] > 0.9  # each episode starts with the gripper open
        scenes.append(ep["state/object_pos"][0])
    assert np.linalg.norm(scenes[0] - scenes[1]) > 1e-3  # every episode on a new scene
    assert summary["successes"] >= 1  # the scripted expert succeeds in-process every time


def test_operator_names_a_dead_node(domain, tmp_path):
    logs = tmp_path / "logs"
    overrides = graph_overrides("pick_cube", tmp_path / "s.zarr", 32, 0, 0.0, 2.0)
    with ros_environment(domain) as env:
        procs = GraphProcesses(GRAPHS["sim_demo"](), overrides=overrides, env=env, log_dir=logs)
        with procs, GraphClient("test_operator") as client:
            procs.start()
            operator = Operator(client, check=lambda: _check_alive(procs, logs))
            operator.wait_ready(60)
            procs.kill("sim")
            with pytest.raises(RuntimeError, match=r"\['sim'\] died"):
                operator.episode()
