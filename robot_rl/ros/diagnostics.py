"""Rates and drops on /diagnostics (diagnostic_msgs/DiagnosticArray at ~1 Hz, wall clock)."""

from __future__ import annotations

import time
from collections.abc import Callable

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.clock import Clock, ClockType
from rclpy.node import Node


class Counter:
    """Counts events (messages, frames) and drops; `rate()` is events/s since the previous report."""

    def __init__(self) -> None:
        self.total = 0
        self.drops = 0
        self._last_total = 0
        self._last_time = time.monotonic()

    def tick(self, n: int = 1) -> None:
        self.total += n

    def drop(self, n: int = 1) -> None:
        self.drops += n

    def rate(self) -> float:
        now = time.monotonic()
        r = (self.total - self._last_total) / max(now - self._last_time, 1e-9)
        self._last_total, self._last_time = self.total, now
        return r


class Diagnostics:
    """One DiagnosticStatus named `<node>: <counter>` per counter, plus free key/values from `extra`."""

    def __init__(self, node: Node, hardware_id: str = "", period: float = 1.0) -> None:
        self.node, self.hardware_id = node, hardware_id
        self.counters: dict[str, Counter] = {}
        self.extra: dict[str, Callable[[], object]] = {}
        self.level: Callable[[], tuple[int, str]] = lambda: (0, "ok")
        self._pub = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._timer = node.create_timer(period, self.publish, clock=Clock(clock_type=ClockType.STEADY_TIME))

    def counter(self, name: str) -> Counter:
        return self.counters.setdefault(name, Counter())

    def publish(self) -> None:
        msg = DiagnosticArray()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        level, message = self.level()
        for name, c in self.counters.items():
            values = {"rate_hz": f"{c.rate():.2f}", "total": str(c.total), "drops": str(c.drops)}
            msg.status.append(self._status(f"{self.node.get_name()}: {name}", level, message, values))
        extra = {k: str(f()) for k, f in self.extra.items()}
        if extra or not self.counters:
            msg.status.append(self._status(self.node.get_name(), level, message, extra))
        self._pub.publish(msg)

    def _status(self, name: str, level: int, message: str, values: dict[str, str]) -> DiagnosticStatus:
        pairs = [KeyValue(key=k, value=v) for k, v in values.items()]
        return DiagnosticStatus(level=bytes([level]), name=name, message=message,
                                hardware_id=self.hardware_id, values=pairs)
