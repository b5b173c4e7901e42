"""Arm topics and services on a node, for any `SafeArm` (used by arm_node and sim_node).

Out: /joint_states (7 joints + the `gripper` pseudo-joint, opening 0..1), /<ns>/ee_pose, /<ns>/wrench,
stamped with the state's capture time mapped by `stamp`. In: /<ns>/target_pose (PoseStamped, base
frame) → `SafeArm.command` with the latest /<ns>/gripper_command (Float64 0..1). A sender publishes the
gripper command and the target of one tick back to back, but the executor may take them in either
order; a gripper command that arrives within a control period after a target re-commands that target
with the new opening, so the gripper never lags one tick behind.
Services /<ns>/{home,stop,clear_error,estop} (std_srvs/Trigger).
The watchdog is SafeArm's: `publish_state()` reads the state through it at the publish rate.
"""

from __future__ import annotations

from collections.abc import Callable

from geometry_msgs.msg import PoseStamped, WrenchStamped
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64
from std_srvs.srv import Trigger

from robot_rl.drivers.base import ArmState
from robot_rl.env.safety import SafeArm, SafetyConfig, SafetyError
from robot_rl.ros import convert, qos
from robot_rl.ros.configs import GRIPPER_JOINT, SafetyParams, arm_services, arm_topics, joint_names
from robot_rl.ros.diagnostics import Diagnostics


def safety_config(p: SafetyParams) -> SafetyConfig:
    return SafetyConfig(workspace_min=tuple(p.workspace_min), workspace_max=tuple(p.workspace_max),
                        max_translation=p.max_translation, max_rotation=p.max_rotation,
                        control_period=p.control_period, watchdog_periods=p.watchdog_periods,
                        nonfinite="ignore")


class ArmIO:
    """Publishers, subscriptions and services of one arm on `node`."""

    def __init__(self, node: Node, arm: SafeArm, arm_ns: str, joint_prefix: str, base_frame: str,
                 stamp: Callable[[float], float], diagnostics: Diagnostics,
                 on_target: Callable[[], None] | None = None) -> None:
        self.node, self.arm, self.frame, self.stamp = node, arm, base_frame, stamp
        self.active = True
        self.on_target = on_target
        self.names = [*joint_names(joint_prefix), GRIPPER_JOINT]
        self.gripper = None  # latest gripper command; None = keep the current opening
        self.last_target: tuple | None = None  # (pos, quat, arm time) of the last accepted target
        t = arm_topics(arm_ns)
        self.pub_joints = node.create_publisher(JointState, t["joint_states"], qos.STATE_PUB)
        self.pub_pose = node.create_publisher(PoseStamped, t["ee_pose"], qos.STATE_PUB)
        self.pub_wrench = node.create_publisher(WrenchStamped, t["wrench"], qos.STATE_PUB)
        self.subs = [node.create_subscription(PoseStamped, t["target"], self._on_target, qos.COMMAND),
                     node.create_subscription(Float64, t["gripper"], self._on_gripper, qos.COMMAND)]
        actions = {"home": arm.home, "stop": arm.stop, "clear_error": arm.clear_error, "estop": arm.estop}
        self.services = [node.create_service(Trigger, name, self._service(actions[key]))
                         for key, name in arm_services(arm_ns).items()]
        self.n_state, self.n_cmd = diagnostics.counter("state"), diagnostics.counter("commands")
        diagnostics.extra |= {"watchdog_holds": lambda: arm.counters.watchdog_holds,
                              "clipped_workspace": lambda: arm.counters.clipped_workspace,
                              "clipped_step": lambda: arm.counters.clipped_step,
                              "estopped": lambda: arm.estopped}

    def publish_state(self) -> ArmState:
        s = self.arm.state()  # runs SafeArm's watchdog
        t = self.stamp(s.time)
        self.pub_joints.publish(convert.joint_state_msg(self.names, [*s.q, s.gripper], [*s.dq, 0.0], t))
        self.pub_pose.publish(convert.pose_to_msg(s.ee_pos, s.ee_quat, t, self.frame))
        if s.wrench is not None:
            self.pub_wrench.publish(convert.wrench_to_msg(s.wrench, t, self.frame))
        self.n_state.tick()
        return s

    def _on_target(self, msg: PoseStamped) -> None:
        if not self.active:
            self.n_cmd.drop()
            return
        pos, quat = convert.msg_to_pose(msg)
        s = self.arm.state()
        gripper = s.gripper if self.gripper is None else self.gripper
        try:
            self.arm.command(pos, quat, gripper)
            self.last_target = (pos, quat, s.time)
            self.n_cmd.tick()
        except SafetyError as e:
            self.n_cmd.drop()
            self.node.get_logger().warning(f"target refused: {e}", throttle_duration_sec=1.0)
        if self.on_target is not None:
            self.on_target()

    def _on_gripper(self, msg: Float64) -> None:
        gripper = min(max(float(msg.data), 0.0), 1.0)
        changed, self.gripper = gripper != self.gripper, gripper
        if not (changed and self.active and self.last_target is not None):
            return
        pos, quat, t = self.last_target
        if self.arm.state().time - t <= self.arm.config.control_period:  # the target of this tick
            try:
                self.arm.command(pos, quat, gripper)
            except SafetyError as e:
                self.node.get_logger().warning(f"gripper command refused: {e}", throttle_duration_sec=1.0)

    def forget_commands(self) -> None:
        """Drop the latest gripper command and target (the scene was reset: they belong to the old one)."""
        self.gripper, self.last_target = None, None

    def _service(self, action: Callable[[], None]) -> Callable:
        def handle(request, response):
            try:
                action()
                response.success, response.message = True, "done"
            except Exception as e:  # report to the caller; the node keeps running
                response.success, response.message = False, f"{type(e).__name__}: {e}"
            return response
        return handle

    def destroy(self) -> None:
        for entity in (self.pub_joints, self.pub_pose, self.pub_wrench):
            self.node.destroy_publisher(entity)
        for sub in self.subs:
            self.node.destroy_subscription(sub)
        for srv in self.services:
            self.node.destroy_service(srv)
