"""Device benchmarks (part of `robot-rl bench devices`): camera read latency through librealsense.

`camera_read_latency` injects frames into a librealsense software device (D435-like, 640x480 colour +
z16 depth at 30 Hz) and times each frame from injection until `RealSenseCamera` hands it back (the
driver's thread picking it up from the pipeline, then alignment, depth → metres and the RGB copy on
read). The reader waits with `read_next`, which wakes as soon as the frame is there; `read_latest`
returns the same frame through the same conversion.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def camera_read_latency(n: int = 300, width: int = 640, height: int = 480, fps: int = 30,
                        depth: bool = True) -> dict[str, Any]:
    """p50/p99/max latency (ms) from injecting a frameset to the camera returning it, over `n` frames
    injected at `fps` (device timestamps = host monotonic, as after clock mapping)."""
    from robot_rl.drivers.realsense import RealSenseCamera
    from robot_rl.drivers.realsense_config import RealSenseConfig
    from robot_rl.drivers.realsense_software import SoftwareRealSense, pattern

    sw = SoftwareRealSense("BENCH", width=width, height=height, fps=fps, f=0.9 * width)
    cfg = RealSenseConfig(name="bench", serial="BENCH", width=width, height=height, fps=fps, depth=depth,
                          warmup_frames=0, timeout_s=2.0)
    images = [pattern(k, width, height) for k in range(8)]  # prepared once: not part of the latency
    latencies = []
    with RealSenseCamera(cfg, devices=lambda: [sw.device]) as cam:
        next_at = time.monotonic()
        for k in range(1, n + 1):
            time.sleep(max(0.0, next_at - time.monotonic()))
            color, raw = images[k % len(images)]
            start = time.monotonic()
            sw.inject(k, start * 1000, color, raw if depth else None)
            frame = cam.read_next(2.0)
            latencies.append(time.monotonic() - start)
            assert frame.frame_number == k, (frame.frame_number, k)
            next_at += 1 / fps
        dropped = cam.dropped
    ms = np.array(latencies) * 1000
    return {"camera_read_latency_p50_ms": float(np.percentile(ms, 50)),
            "camera_read_latency_p99_ms": float(np.percentile(ms, 99)),
            "camera_read_latency_max_ms": float(ms.max()),
            "camera_frames": n, "camera_width": width, "camera_height": height, "camera_depth": depth,
            "camera_dropped": dropped}


if __name__ == "__main__":
    print(camera_read_latency())
