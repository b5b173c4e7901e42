"""arm_node: any `Arm` behind `SafeArm` (lifecycle node).

configure opens the driver (`driver` parameter: franka, or the real-time MuJoCo stand-in "mirror")
and wraps it in SafeArm with the node's safety parameters; activate starts a wall-clock timer at
`publish_hz` that publishes joint_states / ee_pose / wrench and polls the watchdog, and accepts
targets (see arm_io.py for topics and services); deactivate holds the pose and ignores targets.
With no target for `watchdog_periods` control periods the arm holds its current pose.

Run: `python -m robot_rl.ros.arm_node --ros-args -r __node:=arm -p driver:=franka -p host:=172.16.0.2`.
"""

from __future__ import annotations

from rclpy.lifecycle import State, TransitionCallbackReturn

from robot_rl.env.safety import SafeArm
from robot_rl.ros import runtime
from robot_rl.ros.arm_io import ArmIO, safety_config
from robot_rl.ros.configs import ArmNodeConfig
from robot_rl.ros.devices import make_arm
from robot_rl.ros.diagnostics import Diagnostics
from robot_rl.ros.params import declare_config

OK = TransitionCallbackReturn.SUCCESS


class ArmNode(runtime.DeviceNode):
    def __init__(self, node_name: str = "arm") -> None:
        super().__init__(node_name)
        self.cfg = declare_config(self, ArmNodeConfig)
        self.arm: SafeArm | None = None
        self.io: ArmIO | None = None
        self.timer = None
        self.diag = Diagnostics(self, hardware_id=f"{self.cfg.driver}:{self.cfg.host}")

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        try:
            self.arm = SafeArm(make_arm(self.cfg), safety_config(self.cfg))
        except Exception as e:
            self.get_logger().error(f"cannot open arm driver {self.cfg.driver!r}: {e}")
            return TransitionCallbackReturn.FAILURE
        self.io = ArmIO(self, self.arm, self.cfg.arm_ns, self.cfg.joint_prefix, self.cfg.base_frame,
                        lambda t: runtime.monotonic_to_ros(self, t), self.diag)
        self.io.active = False
        return OK

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        self.arm.stop()  # start from a hold at the current pose: no jump to a stale target
        self.io.active = True
        self.timer = self.create_timer(1.0 / self.cfg.publish_hz, self._tick, clock=runtime.steady_clock())
        return OK

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self.io.active = False
        self.arm.stop()
        self.destroy_timer(self.timer)
        self.timer = None
        return OK

    def _tick(self) -> None:
        try:
            self.io.publish_state()
        except Exception as e:  # e.g. a reflex: the arm stopped itself; report and keep publishing
            self.get_logger().error(f"arm state failed: {e}", throttle_duration_sec=1.0)

    def close(self) -> None:
        if self.timer is not None:
            self.destroy_timer(self.timer)
            self.timer = None
        if self.io is not None:
            self.io.destroy()
            self.io = None
        if self.arm is not None:
            try:
                self.arm.stop()
            finally:
                self.arm.close()
                self.arm = None


def main(args: list[str] | None = None) -> int:
    return runtime.run(ArmNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
