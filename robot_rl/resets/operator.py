"""Operator reset: print a prompt and wait until a person confirms the scene is back — a teleop button
(success or next episode) or a confirmation callback (e.g. set by a ROS service, robot_rl/ros/reset_node.py).
While waiting, an engaged teleop device drives the arm through the normal action path, so the operator
can also use the robot to put things back. Optional timeout."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from robot_rl.drivers.teleop_base import TeleopDevice, teleop_to_action
from robot_rl.resets.base import ResetResult


@dataclasses.dataclass(frozen=True)
class OperatorConfig:
    """How long and how often to wait for the operator."""

    timeout_s: float = 0.0
    """Give up after this many seconds (0 = wait forever)."""
    poll_s: float = 0.1
    """Seconds between polls of the teleop device / the confirmation (one control period)."""


class Confirmation:
    """A thread-safe one-shot flag: `confirm()` from any thread (a service callback), `__call__` takes it."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def confirm(self) -> None:
        self._event.set()

    def __call__(self) -> bool:
        if self._event.is_set():
            self._event.clear()
            return True
        return False


class OperatorReset:
    name = "operator"

    def __init__(self, config: OperatorConfig = OperatorConfig(), teleop: TeleopDevice | None = None,
                 confirmed: Callable[[], bool] | None = None, prompt: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if teleop is None and confirmed is None and not config.timeout_s:
            raise ValueError("an operator reset needs a teleop device, a confirmation callback or a timeout")
        self.config, self.teleop, self.confirmed = config, teleop, confirmed
        self.prompt = prompt or (lambda line: print(line, flush=True))
        self.clock, self.sleep = clock, sleep

    def __call__(self, env: Any, rng: np.random.Generator) -> ResetResult:
        start, steps = self.clock(), 0
        how = [w for w, ok in (("press success / next episode on the teleop device", self.teleop),
                               ("confirm (reset service)", self.confirmed)) if ok]
        self.prompt(f"[reset] please put the {env.task.config.name} scene back in its start state, then "
                    f"{' or '.join(how) or 'nothing: no confirmation source configured'}")
        while True:
            if self.confirmed is not None and self.confirmed():
                return self._result(True, steps, start, "confirmed")
            if self.teleop is not None:
                cmd = self.teleop.read()
                if cmd.success or cmd.next_episode:
                    return self._result(True, steps, start, "teleop button")
                if cmd.engaged:
                    env.step(teleop_to_action(cmd))
                    steps += 1
            if self.config.timeout_s and self.clock() - start >= self.config.timeout_s:
                self.prompt("[reset] no confirmation: giving up")
                return self._result(False, steps, start, "timeout")
            self.sleep(self.config.poll_s)

    def _result(self, ok: bool, steps: int, start: float, message: str) -> ResetResult:
        return ResetResult(ok, self.name, steps, self.clock() - start, message)
