"""ROS benchmark (`robot-rl bench ros`): image transport into the recorder and control-loop jitter,
all across real node processes on a private loopback DDS domain.

- images: two camera_node processes (synthetic 640×480 rgb8 at 30 Hz) → recorder_node (reliable
  subscription, the recorder's conversion + copy). The recorder measures arrival − capture time per
  frame and counts frames missing from the 30 Hz capture-time sequence (`FrameStats`); the numbers
  are read from its /diagnostics at the end. `image_drop_rate` = missed / (received + missed). The
  60 s start once both streams have delivered (discovery takes a few seconds).
- control loop: arm_node (the real-time MuJoCo stand-in, stepping physics in its timer) at 10 and
  100 Hz; jitter = |inter-arrival time of /joint_states at a subscriber − period|, p99.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import JointState

from robot_rl.ros import qos
from robot_rl.ros.client import GraphClient
from robot_rl.ros.graph import Graph, NodeSpec
from robot_rl.ros.runner import GraphProcesses


def _isolate() -> None:
    """A private domain with the transport the launch files use. Not ROS_AUTOMATIC_DISCOVERY_RANGE=
    LOCALHOST: under it rmw_fastrtps replaces the builtin transports, so LARGE_DATA (shared memory)
    is silently off and 640×480 frames take 15 ms instead of 3–4 ms (measured side by side)."""
    os.environ.setdefault("ROS_DOMAIN_ID", str(20 + os.getpid() % 200))
    os.environ.pop("ROS_AUTOMATIC_DISCOVERY_RANGE", None)
    os.environ["FASTDDS_BUILTIN_TRANSPORTS"] = "LARGE_DATA"


def _recorder_values(diags: list) -> dict[str, str]:
    for _, msg in reversed(diags):
        for s in msg.status:
            if s.name == "recorder" and any(kv.key.startswith("received/") for kv in s.values):
                return {kv.key: kv.value for kv in s.values}
    return {}


def image_bench(duration: float, width: int = 640, height: int = 480, fps: int = 30) -> dict[str, Any]:
    cams = ("cam0", "cam1")
    cam_params = {"driver": "pattern", "width": width, "height": height, "fps": fps}
    nodes = (*(NodeSpec("camera_node", c, "bench", params=cam_params) for c in cams),
             NodeSpec("recorder_node", "recorder", params={"cameras": list(cams), "camera_ns": "bench"}))
    with GraphProcesses(Graph("bench_images", "", nodes)) as procs, GraphClient("bench") as client:
        diags = client.watch("/diagnostics", DiagnosticArray, qos.COMMAND)
        procs.start(only=["recorder"])
        client.wait_for(lambda: _recorder_values(diags), 60, "the recorder's diagnostics")
        procs.start(only=list(cams))
        t_match = time.monotonic()  # frames published before discovery matched go nowhere: not drops
        client.wait_for(lambda: all(float(_recorder_values(diags).get(f"received/cam/{c}", 0)) > 0
                                    for c in cams), 60, "the first frame of each camera")
        match_s = time.monotonic() - t_match
        client.spin(duration)
        died = procs.died()
        procs.stop(list(cams))  # stop the sources first, so every frame in flight can land
        client.spin(1.5)
        values = _recorder_values(diags)
    per_cam = {c: {k.split("/")[0]: float(v) for k, v in values.items() if k.endswith(f"cam/{c}")}
               for c in cams}
    received = sum(v["received"] for v in per_cam.values())
    missed = sum(v["missed"] for v in per_cam.values())
    return {"image_topic_latency_p99_ms": max(v["latency_p99_ms"] for v in per_cam.values()),
            "image_topic_latency_p50_ms": max(v["latency_p50_ms"] for v in per_cam.values()),
            "image_drop_rate": missed / max(received + missed, 1), "image_frames_received": received,
            "image_frames_expected": 2 * fps * duration,
            "image_streams": f"2 x {width}x{height} rgb8 @ {fps} Hz",
            "image_duration_s": duration, "image_match_wait_s": match_s, "nodes_died": died}


def jitter_bench(rate: float, duration: float) -> dict[str, float]:
    arm = NodeSpec("arm_node", "arm", params={"driver": "mirror", "publish_hz": rate})
    with GraphProcesses(Graph("bench_control", "", (arm,))) as procs, GraphClient("bench") as client:
        msgs = client.watch("/joint_states", JointState, qos.SENSOR)
        procs.start()
        client.wait_for(lambda: len(msgs) > 3, 60, "joint states")
        client.spin(1.0)  # warm-up
        first = len(msgs)
        client.spin(duration)
        arrivals = np.array([t for t, _ in msgs[first:]])
    dt = np.diff(arrivals)
    jitter = np.abs(dt - 1.0 / rate)
    return {f"control_loop_jitter_p99_ms_{rate:g}hz": float(np.percentile(jitter, 99) * 1e3),
            f"control_loop_jitter_mean_ms_{rate:g}hz": float(jitter.mean() * 1e3),
            f"control_loop_rate_hz_{rate:g}hz": float(len(dt) / max(arrivals[-1] - arrivals[0], 1e-9))}


def run(duration: float = 60.0, jitter_duration: float = 10.0) -> dict[str, Any]:
    _isolate()
    t0 = time.monotonic()
    out: dict[str, Any] = {"benchmark": "ros", "machine": {"cpus": os.cpu_count()}}
    out |= image_bench(duration)
    j10, j100 = jitter_bench(10.0, jitter_duration), jitter_bench(100.0, jitter_duration)
    out |= j10 | j100
    out["control_loop_jitter_p99_ms"] = {"10hz": j10["control_loop_jitter_p99_ms_10hz"],
                                         "100hz": j100["control_loop_jitter_p99_ms_100hz"]}
    out["wall_s"] = time.monotonic() - t0
    return out
