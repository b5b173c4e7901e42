"""expert_teleop: the task's scripted expert as a teleop device — an operator stand-in on the MuJoCo mirror.

Sim only: it reads the mirror's privileged `<sim_node>/task_state` (full robot + object state, what the
in-process env hands its expert; no rig publishes it, so on hardware this node never acts); a new
`scene_seed` in it (the sim was reset) starts the expert's script over. Once per
control period — `lead` s of ROS time before each whole period, so the action is at teleop_bridge
before the bridge's tick on that period — the expert turns the newest task state into a normalised
action (7,), published as a human's device would: TwistStamped (twist = action[:6], fractions of
full speed in the base frame) + Joy (axes = twist + gripper target 0..1, buttons = engaged only).
teleop_bridge maps it to arm targets exactly like human teleop. Between decisions the newest action
is re-published at `rate_hz` (wall clock), like a device's stream, so a slow sim never looks like a
dead device to the bridge.

Run: `python -m robot_rl.ros.expert_teleop --ros-args -r __node:=expert_teleop -p task:=pick_cube`.
"""

from __future__ import annotations

import math

import numpy as np
from geometry_msgs.msg import TwistStamped
from rclpy.node import Node
from sensor_msgs.msg import JointState, Joy

from robot_rl.ros import convert, qos, runtime
from robot_rl.ros.configs import ExpertTeleopConfig, teleop_topics
from robot_rl.ros.diagnostics import Diagnostics
from robot_rl.ros.params import declare_config

EPS = 1e-6
"""Task-state stamps within this many seconds of a decision time count as at it (float round-off)."""


class ExpertTeleop(Node):
    def __init__(self, node_name: str = "expert_teleop") -> None:
        super().__init__(node_name)
        from robot_rl.tasks.registry import make_task

        self.cfg = cfg = declare_config(self, ExpertTeleopConfig)
        self.task = make_task(cfg.task)
        self.expert = None  # the script of the current scene, created when its first state arrives
        self.scene: int | None = None  # scene seed of the current scene
        self.next_decision = -math.inf  # ROS time of the next decision
        self.action: np.ndarray | None = None
        t = teleop_topics(cfg.teleop_ns)
        self.pub_twist = self.create_publisher(TwistStamped, t["twist"], qos.COMMAND)
        self.pub_joy = self.create_publisher(Joy, t["joy"], qos.COMMAND)
        sim = cfg.sim_node.rstrip("/")
        self.create_subscription(JointState, f"{sim}/task_state", self._on_state, qos.RECORD)
        self.diag = Diagnostics(self, hardware_id=f"expert:{cfg.task}")
        self.decisions = self.diag.counter("decisions")
        self.count = self.diag.counter("commands")
        self.timer = self.create_timer(1.0 / cfg.rate_hz, self._republish, clock=runtime.steady_clock())

    def _on_state(self, msg: JointState) -> None:
        values = convert.joint_state_to_values(msg)
        seed = int(values.pop("scene_seed", -1))
        if seed != self.scene:  # the sim was reset: a new scene, a new script (noise seeded per scene)
            self.scene, self.next_decision = seed, -math.inf
            rng = np.random.default_rng([self.cfg.seed, max(seed, 0)])
            self.expert = self.task.expert(self.cfg.noise, rng)
        t = convert.from_stamp(msg.header.stamp)
        if t + EPS < self.next_decision:
            return
        period = 1.0 / self.cfg.control_hz
        # the next decision `lead` before a whole period, at least half a period away (the first one of a
        # scene comes at once: the bridge must not steer the new scene with the old scene's last action)
        n = math.floor((t + self.cfg.lead + 0.5 * period) / period + EPS) + 1
        self.next_decision = n * period - self.cfg.lead
        state = {k: np.asarray(v, np.float64).reshape(-1) for k, v in values.items() if k != "success"}
        self.action = self.expert.act(state)
        self.decisions.tick()
        self._publish()

    def _republish(self) -> None:
        if self.action is not None:
            self._publish()

    def _publish(self) -> None:
        a = np.asarray(self.action, float)
        stamp = convert.to_stamp(runtime.ros_time(self))
        twist = TwistStamped()
        twist.header.stamp, twist.header.frame_id = stamp, self.cfg.base_frame
        lin, ang = twist.twist.linear, twist.twist.angular
        lin.x, lin.y, lin.z, ang.x, ang.y, ang.z = (float(v) for v in a[:6])
        joy = Joy(axes=[float(v) for v in (*a[:6], 0.5 * (a[6] + 1.0))], buttons=[1, 0, 0, 0])
        joy.header.stamp, joy.header.frame_id = stamp, self.cfg.base_frame
        self.pub_joy.publish(joy)  # first: the bridge takes the gripper from the Joy, motion from the twist
        self.pub_twist.publish(twist)
        self.count.tick()


def main(args: list[str] | None = None) -> int:
    return runtime.run(ExpertTeleop, args)


if __name__ == "__main__":
    raise SystemExit(main())
