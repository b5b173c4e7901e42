"""Actor/learner over ROS 2 with real processes on the mirror: episodes flow to the learner and weight
snapshots back; a killed learner leaves the actor practising with its last weights; the restarted
learner resumes from its checkpoint (update counter continues) and weights flow again."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("rclpy")

from std_msgs.msg import String  # noqa: E402

from robot_rl.ros import qos  # noqa: E402
from robot_rl.ros.client import GraphClient  # noqa: E402

_DOMAINS = itertools.count()


@pytest.fixture
def ros_env(monkeypatch):
    domain = 20 + (os.getpid() * 11 + 97 + next(_DOMAINS)) % 200
    env = {"ROS_DOMAIN_ID": str(domain), "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
           "FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA", "OMP_NUM_THREADS": "1"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture(scope="module")
def tiny_pick(tmp_path_factory) -> tuple[Path, Path]:
    """(checkpoint, demo store): 2 scripted pick_cube demos and a tiny policy trained 10 steps."""
    from robot_rl.env.cli import collect
    from robot_rl.policies.policy import PolicyConfig
    from robot_rl.rl.config import TrainConfig
    from robot_rl.rl.train_cli import train

    tmp = tmp_path_factory.mktemp("pick")
    collect(task="pick_cube", episodes=2, store=tmp / "demos.zarr", images=False, seed=0)
    cfg = TrainConfig(policy=PolicyConfig(horizon=8, down_dims=(16, 32), inference_steps=2), steps=10,
                      eval_episodes=0, warmup_steps=2, batch_size=16)
    train(store=tmp / "demos.zarr", out=tmp / "run", cfg=cfg)
    return tmp / "run" / "last.safetensors", tmp / "demos.zarr"


def _start(module: str, params: dict, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", f"robot_rl.ros.{module}", "--ros-args"]
    for k, v in params.items():
        cmd += ["-p", f"{k}:={v}"]
    return subprocess.Popen(cmd, stdout=open(log, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
                            start_new_session=True)


def _last(box) -> dict:
    return json.loads(box[-1][1].data) if box else {}


def test_actor_learner_over_ros(ros_env, tiny_pick, tmp_path):
    ckpt, demos = tiny_pick
    learner_params = {"checkpoint": str(ckpt), "demos": str(demos), "out": str(tmp_path / "learner"),
                      "utd": 0.1, "n_samples": 4, "critic_pretrain_steps": 5, "publish_every": 2,
                      "ckpt_every": 4}
    actor_params = {"task": "pick_cube", "checkpoint": str(ckpt), "n_samples": 4,
                    "store": str(tmp_path / "practice.zarr")}
    logs = lambda: "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in tmp_path.glob("*.log"))  # noqa
    learner = _start("learner_node", learner_params, tmp_path / "learner.log")
    actor = _start("actor_node", actor_params, tmp_path / "actor.log")
    try:
        with GraphClient("test_actor_learner") as client:
            a_status = client.watch("/actor/status", String, qos.LATCHED)
            l_status = client.watch("/learner/status", String, qos.LATCHED)
            client.wait_for(lambda: _last(a_status).get("weights_step", -1) >= 2
                            and _last(l_status).get("checkpoint_at", 0) >= 4, 60,
                            f"trained weights at the actor and a checkpoint\n{logs()}")
            assert _last(a_status)["rejected"] == 0
            learner.kill()  # a crash: no shutdown checkpoint
            learner.wait()
            saved = json.loads((tmp_path / "learner" / "learner.json").read_text())["state"]["step"]
            before = _last(a_status)["episodes"]
            # a snapshot sent just before the crash may still be loaded at the next episode start
            client.wait_for(lambda: _last(a_status)["episodes"] >= before + 1, 30, f"an episode\n{logs()}")
            snapshots = _last(a_status)["snapshots"]
            client.wait_for(lambda: _last(a_status)["episodes"] >= before + 3, 30,
                            f"the actor practising without a learner\n{logs()}")
            assert _last(a_status)["snapshots"] == snapshots
            learner = _start("learner_node", learner_params, tmp_path / "learner.log")
            client.wait_for(lambda: _last(l_status).get("resumed") and
                            _last(l_status)["step"] > _last(l_status)["start_step"], 40,
                            f"the resumed learner training\n{logs()}")
            assert _last(l_status)["start_step"] == saved
            client.wait_for(lambda: _last(a_status)["snapshots"] > snapshots, 30,
                            f"weights from the restarted learner\n{logs()}")
            assert "error" not in _last(a_status), logs()
    finally:
        for p in (actor, learner):
            if p.poll() is None:
                p.terminate()
                p.wait(10)
