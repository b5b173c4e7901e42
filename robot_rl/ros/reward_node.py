"""reward_node: camera topics → success probability and flag at the control rate.

Subscribes `<camera_ns>/<cam>/color/image_raw` for every camera the reward model reads, and at `rate_hz`
(ROS clock: sim time under use_sim_time) publishes `/<reward_ns>/probability` (std_msgs/Float32) and
`/<reward_ns>/success` (std_msgs/Bool, the k-frame hysteresis flag). Each new set of frames updates the
hysteresis once; ticks without a new frame republish the last values. A camera missing, a frame older
than `max_age`, or a scorer error (wrong image size, judge server down) publishes probability NaN and
success False and restarts the hysteresis count — never a success by default. `/<reward_ns>/reset`
(std_srvs/Trigger) restarts the count at an episode start. Any reward model directory works
(classifier, VLM head, CLIP, HTTP judge, preference; robot_rl.rewards.base.load_reward).

Run: `python -m robot_rl.ros.reward_node --ros-args -p model:=out/reward/pick_cube`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Bool, Float32
from std_srvs.srv import Trigger

from robot_rl.ros import convert, qos, runtime
from robot_rl.ros.configs import camera_topics
from robot_rl.ros.diagnostics import Diagnostics
from robot_rl.ros.params import declare_config


@dataclasses.dataclass(frozen=True)
class RewardNodeConfig:
    """reward_node: a reward model on live camera frames."""

    model: str = ""
    """Reward model directory (robot-rl reward train / prefer output, or a saved VLM backend)."""
    camera_ns: str = ""
    """Namespace of the camera topics ("" = /<cam>/color/image_raw)."""
    rate_hz: float = 10.0
    """Publishing rate (Hz): the control rate."""
    reward_ns: str = "reward"
    """Topics /<reward_ns>/probability and /<reward_ns>/success, service /<reward_ns>/reset."""
    max_age: float = 0.5
    """Frames older than this (s, ROS clock vs header stamp) count as missing; 0 = no age check."""


class RewardNode(Node):
    def __init__(self, node_name: str = "reward") -> None:
        super().__init__(node_name)
        from robot_rl.rewards.base import load_reward

        self.cfg = declare_config(self, RewardNodeConfig)
        if not self.cfg.model:
            raise ValueError("reward_node needs -p model:=<reward model directory>")
        self.reward = load_reward(self.cfg.model)
        self.latest: dict[str, tuple[np.ndarray, float]] = {}
        for key in self.reward.cameras:
            cam = key.split("/", 1)[1]
            topic = camera_topics(self.cfg.camera_ns, cam)["color"]
            self.create_subscription(Image, topic, lambda msg, k=key: self._on_image(k, msg), qos.SENSOR)
        ns = f"/{self.cfg.reward_ns}"
        self.pub_prob = self.create_publisher(Float32, f"{ns}/probability", qos.COMMAND)
        self.pub_flag = self.create_publisher(Bool, f"{ns}/success", qos.COMMAND)
        self.create_service(Trigger, f"{ns}/reset", self._on_reset)
        self.diag = Diagnostics(self, hardware_id=self.reward.kind)
        self.count, self.errors = self.diag.counter("rewards"), self.diag.counter("errors")
        self.diag.extra["threshold"] = lambda: self.reward.threshold
        self.diag.extra["k"] = lambda: self.reward.k
        self.last_stamps: tuple[float, ...] | None = None
        self.value = (math.nan, False)
        self.create_timer(1.0 / self.cfg.rate_hz, self._tick)

    def _on_image(self, key: str, msg: Image) -> None:
        self.latest[key] = (convert.color_to_rgb(msg).copy(), convert.from_stamp(msg.header.stamp))

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self.reward.reset()
        self.last_stamps, self.value = None, (math.nan, False)
        response.success, response.message = True, "hysteresis reset"
        return response

    def _tick(self) -> None:
        self.value = self._evaluate()
        prob, flag = self.value
        self.pub_prob.publish(Float32(data=float(prob)))
        self.pub_flag.publish(Bool(data=bool(flag)))
        self.count.tick()

    def _evaluate(self) -> tuple[float, bool]:
        now = runtime.ros_time(self)
        frames = [self.latest.get(k) for k in self.reward.cameras]
        if any(f is None for f in frames) or (self.cfg.max_age > 0 and any(now - f[1] > self.cfg.max_age
                                                                          for f in frames)):
            return self._fail("missing or stale camera frames")
        stamps = tuple(f[1] for f in frames)
        if stamps == self.last_stamps:
            return self.value  # no new frame: one frame counts once towards the k consecutive
        self.last_stamps = stamps
        try:
            return self.reward({k: f[0] for k, f in zip(self.reward.cameras, frames, strict=True)})
        except Exception as e:  # wrong image size, judge server down, ...: report, never succeed
            return self._fail(f"reward model failed: {e}")

    def _fail(self, why: str) -> tuple[float, bool]:
        self.errors.tick()
        self.reward.reset()
        self.last_stamps = None
        self.get_logger().warning(why, throttle_duration_sec=2.0)
        return math.nan, False


def main(args: list[str] | None = None) -> int:
    return runtime.run(RewardNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
