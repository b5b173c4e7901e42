"""QoS profiles (notes/ros2.md): sensor subscriptions best-effort shallow, commands reliable, latched
data durable. Publishers of sensor data are reliable so that both best-effort and reliable
subscribers match them (a reliable subscription never matches a best-effort publisher)."""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

SENSOR_PUB = QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
"""Publishers of camera frames, joint states, poses."""
SENSOR = QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)
"""Live consumers of sensor data: the newest sample matters; a late one is worth less than none."""
RECORD = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
"""The recorder's subscriptions: reliable, with a few frames of slack."""
COMMAND = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
"""Targets, gripper commands, teleop input: every message should arrive."""
LATCHED = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
"""Status and descriptions: late joiners get the last message."""
