"""A small synchronous client of a running graph (tests, benchmarks, scripts): call services, watch
topics. Uses its own rclpy context, so it can be created and shut down repeatedly in one process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from std_srvs.srv import SetBool, Trigger

from robot_rl.ros import qos


class GraphClient:
    def __init__(self, name: str = "robot_rl_client") -> None:
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.messages: dict[str, list[tuple[float, Any]]] = {}
        self.clients: dict[tuple[str, Any], Any] = {}

    def spin(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=min(0.05, max(end - time.monotonic(), 0.0)))

    def call(self, service: str, srv_type=Trigger, timeout: float = 10.0,
             check: Callable[[], None] | None = None, **fields) -> Any:
        """Call a service; returns the response (raises TimeoutError if it never appears or answers).
        `check` is called every 50 ms while waiting (e.g. to raise at once when the serving process has
        died). One client per service is kept for the client's lifetime: a new one is discovered anew
        on every call (0.17 s vs 0.09 s per call on the sim graph, 2 loaded cores)."""
        key = (service, srv_type)
        if key not in self.clients:
            self.clients[key] = self.node.create_client(srv_type, service)
        client = self.clients[key]
        self._spin_until(client.service_is_ready, timeout, check, f"service {service} did not appear")
        future = client.call_async(srv_type.Request(**fields))
        self._spin_until(future.done, timeout, check, f"service {service} did not answer")
        return future.result()

    def _spin_until(self, done: Callable[[], bool], timeout: float, check: Callable[[], None] | None,
                    what: str) -> None:
        end = time.monotonic() + timeout
        while not done():
            if check is not None:
                check()
            if time.monotonic() > end:
                raise TimeoutError(f"{what} within {timeout} s")
            self.executor.spin_once(timeout_sec=0.05)

    def trigger(self, service: str, timeout: float = 10.0, check: Callable[[], None] | None = None) -> str:
        """Call a std_srvs/Trigger service; raises RuntimeError if it reports failure."""
        r = self.call(service, Trigger, timeout, check)
        if not r.success:
            raise RuntimeError(f"{service}: {r.message}")
        return r.message

    def set_bool(self, service: str, value: bool, timeout: float = 10.0,
                 check: Callable[[], None] | None = None) -> str:
        r = self.call(service, SetBool, timeout, check, data=value)
        if not r.success:
            raise RuntimeError(f"{service}: {r.message}")
        return r.message

    def watch(self, topic: str, msg_type, profile=qos.SENSOR, keep: int = 10000) -> list[tuple[float, Any]]:
        """Record (host monotonic arrival time, message) of `topic` into the returned list while spinning."""
        box = self.messages.setdefault(topic, [])

        def on_msg(msg) -> None:
            box.append((time.monotonic(), msg))
            del box[:-keep]
        self.node.create_subscription(msg_type, topic, on_msg, profile)
        return box

    def wait_for(self, predicate, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            self.spin(0.05)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
