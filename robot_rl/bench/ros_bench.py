"""`robot-rl bench ros`: image transport and control-loop jitter across ROS 2 node processes.

The measurement lives in robot_rl/ros/bench.py (only robot_rl/ros imports rclpy); this writes the JSON.
"""

from __future__ import annotations

import json
from pathlib import Path


def run_ros_bench(json_path: Path, duration: float = 60.0, jitter_duration: float = 10.0) -> dict:
    from robot_rl.ros.bench import run

    result = run(duration, jitter_duration)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return result
