"""Running a node process: rclpy init, lifecycle autostart, SingleThreadedExecutor, clean shutdown.

The MultiThreadedExecutor of the PyPI wheels loses throughput (notes/ros2.md), so every node spins a
SingleThreadedExecutor; device threads may publish (rclpy publishers are thread-safe).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from rclpy.node import Node

STEADY = ClockType.STEADY_TIME


def steady_clock() -> Clock:
    """A wall-clock (monotonic) clock for timers that must tick whatever /clock does."""
    return Clock(clock_type=STEADY)


def ros_time(node: Node) -> float:
    """The node's ROS clock now (s): sim time under use_sim_time."""
    return node.get_clock().now().nanoseconds * 1e-9


def monotonic_to_ros(node: Node, t_monotonic: float) -> float:
    """A host-monotonic capture time mapped onto the node's ROS clock (same instant, ROS time base)."""
    return t_monotonic + (ros_time(node) - time.monotonic())


class DeviceNode(LifecycleNode):
    """A lifecycle node owning a device or store: cleanup and shutdown both release it via `close()`
    (which subclasses implement, idempotently)."""

    def close(self) -> None:
        raise NotImplementedError

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        self.close()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self.close()
        return TransitionCallbackReturn.SUCCESS


def autostart(node: LifecycleNode) -> None:
    """configure + activate, as a lifecycle manager with autostart would; raise if either fails."""
    for name, trigger in (("configure", node.trigger_configure), ("activate", node.trigger_activate)):
        if trigger() != TransitionCallbackReturn.SUCCESS:
            raise RuntimeError(f"{node.get_name()}: lifecycle transition {name} failed")


def transport_warning() -> str | None:
    """Why image traffic will be slow in this environment, or None. Under ROS_AUTOMATIC_DISCOVERY_RANGE=
    LOCALHOST rmw_fastrtps replaces Fast DDS's builtin transports, which silently drops LARGE_DATA's
    shared memory: a 640×480 frame then takes ~15 ms instead of ~3 ms between processes (bench ros)."""
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "").upper() == "LOCALHOST" and \
            os.environ.get("FASTDDS_BUILTIN_TRANSPORTS") == "LARGE_DATA":
        return ("ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST disables FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA; "
                "images between processes will be ~5x slower. Isolate with ROS_DOMAIN_ID instead.")
    return None


def run(factory: Callable[[], Node], args: list[str] | None = None) -> int:
    """Create the node, autostart it if it asks to, spin until shutdown (SIGINT/SIGTERM), clean up."""
    rclpy.init(args=sys.argv if args is None else args)
    node = None
    try:
        node = factory()
        if (warning := transport_warning()) is not None:
            node.get_logger().warning(warning)
        if isinstance(node, LifecycleNode) and node.get_parameter("autostart").value:
            autostart(node)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            close = getattr(node, "close", None)
            if close is not None:
                close()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
