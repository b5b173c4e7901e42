"""reset_node: verified scene resets as a ROS 2 service, for practice runs driven from elsewhere.

`~/reset` (std_srvs/Trigger) runs the configured reset strategy (scripted / teleport / operator) and
the task's verifier with retries and escalation to the operator; the response's success is the
verification result, its message the JSON report (every attempt, failed checks, times), also
latched on `~/status` (std_msgs/String). The operator confirms through `~/confirm` (std_srvs/Trigger)
or the success / next-episode buttons of the teleop Joy topic. The reset runs in the node's own
process against the task's MuJoCo mirror (a hardware RobotEnv slots in the same way); it and the
confirmation are served on separate threads so a waiting reset can be confirmed.

Run: `python -m robot_rl.ros.reset_node --ros-args -p task:=pick_cube -p strategy:=scripted`.
"""

from __future__ import annotations

import dataclasses
import json
import sys

import numpy as np
import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Joy
from std_msgs.msg import String
from std_srvs.srv import Trigger

from robot_rl.ros import qos
from robot_rl.ros.configs import JOY_BUTTONS, teleop_topics
from robot_rl.ros.params import declare_config


@dataclasses.dataclass(frozen=True)
class ResetNodeConfig:
    """reset_node parameters."""

    task: str = "pick_cube"
    """Registered task whose mirror (and reset procedure) the node runs."""
    strategy: str = "scripted"
    """Reset strategy: scripted, teleport (mirror only) or operator."""
    seed: int = 0
    """Seeds the first scene and the reset randomisation."""
    max_attempts: int = 3
    """Attempts of the strategy before escalating to the operator."""
    escalate: bool = True
    """Escalate unverified resets to the operator (~/confirm or a teleop button)."""
    operator_timeout: float = 60.0
    """Seconds the operator has to confirm (0 = wait forever)."""
    teleop_ns: str = "teleop"
    """Namespace of the teleop topics whose success / next-episode buttons confirm."""


class ResetNode(Node):
    def __init__(self, node_name: str = "reset_node") -> None:
        super().__init__(node_name)
        from robot_rl.env.robot_env import RobotEnv
        from robot_rl.resets.base import make_reset
        from robot_rl.resets.operator import Confirmation, OperatorConfig, OperatorReset
        from robot_rl.resets.verify import PredicateVerifier, VerifyConfig

        self.cfg = cfg = declare_config(self, ResetNodeConfig)
        self.env = RobotEnv(cfg.task, images=False)
        self.env.reset(seed=cfg.seed)  # the mirror's first scene
        self.rng = np.random.default_rng(cfg.seed)
        self.confirmation = Confirmation()
        self.operator = OperatorReset(OperatorConfig(timeout_s=cfg.operator_timeout),
                                      confirmed=self.confirmation,
                                      prompt=lambda line: self.get_logger().warning(line))
        self.strategy = self.operator if cfg.strategy == "operator" else make_reset(cfg.strategy)
        self.verifier, self.verify_cfg = PredicateVerifier(), VerifyConfig(cfg.max_attempts, cfg.escalate)
        self.pub_status = self.create_publisher(String, "~/status", qos.LATCHED)
        work, quick = MutuallyExclusiveCallbackGroup(), MutuallyExclusiveCallbackGroup()
        self.create_service(Trigger, "~/reset", self._on_reset, callback_group=work)
        self.create_service(Trigger, "~/confirm", self._on_confirm, callback_group=quick)
        self.create_subscription(Joy, teleop_topics(cfg.teleop_ns)["joy"], self._on_joy, qos.COMMAND,
                                 callback_group=quick)
        self.n_resets = 0

    def _on_reset(self, request, response):
        from robot_rl.resets.verify import verified_reset

        try:
            report = verified_reset(self.env, self.strategy, self.verifier, self.rng, self.verify_cfg,
                                    self.operator)
            out = {"reset": self.n_resets, **report.to_json()}
            response.success, response.message = report.verified, json.dumps(out)
        except Exception as e:  # report to the caller (e.g. a teleport refused on hardware); keep serving
            out = {"reset": self.n_resets, "error": f"{type(e).__name__}: {e}"}
            response.success, response.message = False, json.dumps(out)
        self.n_resets += 1
        self.pub_status.publish(String(data=response.message))
        self.get_logger().info(f"reset {out}")
        return response

    def _on_confirm(self, request, response):
        self.confirmation.confirm()
        response.success, response.message = True, "confirmed"
        return response

    def _on_joy(self, msg: Joy) -> None:
        pressed = {name for name, b in zip(JOY_BUTTONS, msg.buttons, strict=False) if b}
        if pressed & {"success", "next_episode"}:
            self.confirmation.confirm()

    def close(self) -> None:
        self.env.close()


def main(args: list[str] | None = None) -> int:
    rclpy.init(args=sys.argv if args is None else args)
    node = None
    try:
        node = ResetNode()
        executor = MultiThreadedExecutor(num_threads=2)  # a waiting reset must not block ~/confirm
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.close()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
