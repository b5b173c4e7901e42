"""teleop_bridge: teleop twists → arm targets at the control rate, for demonstration collection.

Once per control period — on the first measured pose stamped at or after each whole period of the ROS
clock (sim time under use_sim_time), the grid the recorder's steps sit on — the newest twist becomes a
TCP target relative to that very pose, exactly as a task maps a normalised action (tasks/base.py):
position + twist[:3] × pos_scale, rotation rotvec(twist[3:] × rot_scale) applied in the base frame;
the gripper target comes from the Joy's last axis. The target is stamped with that pose's capture time,
so the recorder pairs it with the observation it was computed from.
Ticking on pose stamps rather than a timer keeps the phase fixed (a timer's phase depends on when the
node started) and never mixes in an older pose. When the newest twist is older than `timeout` (the
teleop process died or stalled) or poses stop, no target is sent, so the arm's watchdog holds the pose.

Run: `python -m robot_rl.ros.teleop_bridge --ros-args -r __node:=teleop_bridge -p use_sim_time:=true`.
"""

from __future__ import annotations

import math
import time

import numpy as np
from geometry_msgs.msg import PoseStamped, TwistStamped
from rclpy.node import Node
from sensor_msgs.msg import Joy
from std_msgs.msg import Float64

from robot_rl.env import rotations as rot
from robot_rl.ros import convert, qos, runtime
from robot_rl.ros.configs import TeleopBridgeConfig, arm_topics, teleop_topics
from robot_rl.ros.diagnostics import Diagnostics
from robot_rl.ros.params import declare_config

EPS = 1e-6
"""Pose stamps within this many seconds of a whole control period count as on it (float round-off)."""


class TeleopBridge(Node):
    def __init__(self, node_name: str = "teleop_bridge") -> None:
        super().__init__(node_name)
        self.cfg = cfg = declare_config(self, TeleopBridgeConfig)
        self.twist: np.ndarray | None = None
        self.twist_time = -np.inf  # arrival, host monotonic clock (s)
        self.gripper = 1.0
        self.pose: tuple[np.ndarray, np.ndarray] | None = None
        tt, at = teleop_topics(cfg.teleop_ns), arm_topics(cfg.arm_ns)
        self.create_subscription(TwistStamped, tt["twist"], self._on_twist, qos.COMMAND)
        self.create_subscription(Joy, tt["joy"], self._on_joy, qos.COMMAND)
        self.create_subscription(PoseStamped, at["ee_pose"], self._on_pose, qos.SENSOR)
        self.pub_target = self.create_publisher(PoseStamped, at["target"], qos.COMMAND)
        self.pub_gripper = self.create_publisher(Float64, at["gripper"], qos.COMMAND)
        self.diag = Diagnostics(self)
        self.sent, self.held = self.diag.counter("targets"), self.diag.counter("stale_teleop")
        self.next_tick = -math.inf  # ROS time of the next whole control period

    def _on_twist(self, msg: TwistStamped) -> None:
        lin, ang = msg.twist.linear, msg.twist.angular
        self.twist = np.array([lin.x, lin.y, lin.z, ang.x, ang.y, ang.z])
        self.twist_time = time.monotonic()  # input age is wall time: a human does not follow /clock

    def _on_joy(self, msg: Joy) -> None:
        if len(msg.axes) >= 7:
            self.gripper = float(msg.axes[6])

    def _on_pose(self, msg: PoseStamped) -> None:
        self.pose = convert.msg_to_pose(msg)
        t = convert.from_stamp(msg.header.stamp)
        if t + EPS >= self.next_tick:
            self.next_tick = (math.floor(t * self.cfg.control_hz + EPS) + 1) / self.cfg.control_hz
            self._tick(t)

    def target(self) -> tuple[np.ndarray, np.ndarray]:
        """The TCP target (position m, quaternion xyzw) for the newest twist and pose."""
        a = np.clip(self.twist, -1.0, 1.0)
        pos, quat = self.pose
        turn = rot.from_rotvec(a[3:] * self.cfg.rot_scale)
        return pos + a[:3] * self.cfg.pos_scale, rot.normalize(rot.multiply(turn, quat))

    def _tick(self, now: float) -> None:
        if self.twist is None or self.pose is None or time.monotonic() - self.twist_time > self.cfg.timeout:
            self.held.tick()
            return
        pos, quat = self.target()
        self.pub_gripper.publish(Float64(data=self.gripper))  # first: the arm applies it with the target
        self.pub_target.publish(convert.pose_to_msg(pos, quat, now, self.cfg.base_frame))
        self.sent.tick()


def main(args: list[str] | None = None) -> int:
    return runtime.run(TeleopBridge, args)


if __name__ == "__main__":
    raise SystemExit(main())
