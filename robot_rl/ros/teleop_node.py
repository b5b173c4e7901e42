"""teleop_node: a teleop device → /<ns>/twist (TwistStamped) + /<ns>/joy (Joy) (lifecycle node).

At `rate_hz` (wall clock) the device is read (`TeleopDevice.read`, never blocking) and published:
the twist in the base frame as fractions of full speed in [-1, 1] (linear x y z, angular roll pitch
yaw), and a Joy whose axes are the twist (6) + the gripper target (0..1) and whose buttons are
engaged, success, discard, next_episode (configs.JOY_BUTTONS; one-shot events are 1 in exactly one
message). Stamps are the node's ROS clock at the read (the device reports host-monotonic time of its
newest input; the reading is what is published). configure opens the device, cleanup closes it.

Run: `python -m robot_rl.ros.teleop_node --ros-args -r __node:=teleop -p device:=spacemouse`.
"""

from __future__ import annotations

from geometry_msgs.msg import TwistStamped
from rclpy.lifecycle import State, TransitionCallbackReturn
from sensor_msgs.msg import Joy

from robot_rl.ros import convert, qos, runtime
from robot_rl.ros.configs import TeleopNodeConfig, teleop_topics
from robot_rl.ros.devices import make_teleop
from robot_rl.ros.diagnostics import Diagnostics
from robot_rl.ros.params import declare_config

OK = TransitionCallbackReturn.SUCCESS


class TeleopNode(runtime.DeviceNode):
    def __init__(self, node_name: str = "teleop") -> None:
        super().__init__(node_name)
        self.cfg = declare_config(self, TeleopNodeConfig)
        self.device = None
        self.timer = None
        t = teleop_topics(self.cfg.teleop_ns)
        self.pub_twist = self.create_publisher(TwistStamped, t["twist"], qos.COMMAND)
        self.pub_joy = self.create_publisher(Joy, t["joy"], qos.COMMAND)
        self.diag = Diagnostics(self, hardware_id=self.cfg.device)
        self.count = self.diag.counter("commands")

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        try:
            self.device = make_teleop(self.cfg.device)
        except Exception as e:
            self.get_logger().error(f"cannot open teleop device {self.cfg.device!r}: {e}")
            return TransitionCallbackReturn.FAILURE
        return OK

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        self.device.reset()
        self.timer = self.create_timer(1.0 / self.cfg.rate_hz, self._tick, clock=runtime.steady_clock())
        return OK

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self.destroy_timer(self.timer)
        self.timer = None
        return OK

    def _tick(self) -> None:
        cmd = self.device.read()
        stamp = convert.to_stamp(runtime.ros_time(self))
        twist = TwistStamped()
        twist.header.stamp, twist.header.frame_id = stamp, self.cfg.base_frame
        lin, ang = twist.twist.linear, twist.twist.angular
        lin.x, lin.y, lin.z, ang.x, ang.y, ang.z = (float(v) for v in cmd.twist)
        joy = Joy(axes=[float(v) for v in (*cmd.twist, cmd.gripper)],
                  buttons=[int(cmd.engaged), int(cmd.success), int(cmd.discard), int(cmd.next_episode)])
        joy.header.stamp, joy.header.frame_id = stamp, self.cfg.base_frame
        self.pub_twist.publish(twist)
        self.pub_joy.publish(joy)
        self.count.tick()

    def close(self) -> None:
        if self.timer is not None:
            self.destroy_timer(self.timer)
            self.timer = None
        if self.device is not None:
            self.device.close()
            self.device = None


def main(args: list[str] | None = None) -> int:
    return runtime.run(TeleopNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
