"""QoS profiles (notes/ros2.md): sensor subscriptions best-effort shallow, commands reliable, latched
data durable. Publishers of sensor data are reliable so that both best-effort and reliable
subscribers match them (a reliable subscription never matches a best-effort publisher)."""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

SENSOR_PUB = QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
"""Publishers of camera frames."""
STATE_PUB = QoSProfile(depth=100, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
"""Publishers of small, fast state messages (joint states, poses, the mirror's task state): ~1 s of history
at 100 Hz, so a reliable reader that stalls for a moment (the recorder writing a chunk on a loaded machine)
gets every sample late rather than a hole (depth 5 lost samples after a 25 ms stall at 200 msg/s)."""
SENSOR = QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)
"""Live consumers of sensor data: the newest sample matters; a late one is worth less than none."""
RECORD = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
"""The recorder's camera subscriptions: reliable, with a few frames of slack."""
RECORD_STATE = QoSProfile(depth=100, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
"""The recorder's state and command subscriptions: reliable, ~1 s of slack at 100 Hz (see STATE_PUB)."""
COMMAND = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
"""Targets, gripper commands, teleop input: every message should arrive."""
LATCHED = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
"""Status and descriptions: late joiners get the last message."""
