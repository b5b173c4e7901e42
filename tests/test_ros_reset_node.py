"""reset_node as a real process: ~/reset runs the scripted reset + verification on its mirror; with the
operator strategy a reset waits until ~/confirm is called (served while the reset is waiting)."""

import itertools
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("rclpy")

from std_srvs.srv import Trigger  # noqa: E402

from robot_rl.ros.client import GraphClient  # noqa: E402

_DOMAINS = itertools.count()


@pytest.fixture
def ros_env(monkeypatch):
    domain = 20 + (os.getpid() * 11 + next(_DOMAINS) + 100) % 200
    for k, v in {"ROS_DOMAIN_ID": str(domain), "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}.items():
        monkeypatch.setenv(k, v)


def _start(tmp_path, **params) -> subprocess.Popen:
    args = [sys.executable, "-m", "robot_rl.ros.reset_node", "--ros-args", "-r", "__node:=reset_node"]
    for k, v in params.items():
        args += ["-p", f"{k}:={v}"]
    log = open(tmp_path / "reset_node.log", "w")  # noqa: SIM115 (the process owns it)
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_scripted_reset_service(ros_env, tmp_path):
    proc = _start(tmp_path, task="pick_cube", strategy="scripted")
    try:
        with GraphClient("test_client") as client:
            for _ in range(2):
                r = client.call("/reset_node/reset", Trigger, timeout=60.0)
                report = json.loads(r.message)
                log = (tmp_path / "reset_node.log").read_text()
                assert r.success and report["verified"], (r.message, log)
                assert report["attempts"][0]["strategy"] == "scripted" and report["attempts"][0]["steps"] > 10
        assert proc.poll() is None
    finally:
        _stop(proc)


def test_operator_reset_waits_for_confirm(ros_env, tmp_path):
    proc = _start(tmp_path, task="pick_cube", strategy="operator", operator_timeout=30.0)
    try:
        with GraphClient("test_client") as client:
            reset = client.node.create_client(Trigger, "/reset_node/reset")
            assert reset.wait_for_service(timeout_sec=30.0), (tmp_path / "reset_node.log").read_text()
            future = reset.call_async(Trigger.Request())
            client.spin(1.0)
            assert not future.done()  # waiting for the operator
            client.trigger("/reset_node/confirm")
            client.wait_for(future.done, 10.0, "the reset's answer")
            report = json.loads(future.result().message)
            assert future.result().success and report["attempts"][0]["message"] == "confirmed"
    finally:
        _stop(proc)
