"""The operator's episode loop over a running mirror collection graph (sim_demo): what a person at the
rig does with the services, done by a program so demonstrations can be collected with no human.

Per episode: reset the scene (`<sim>/reset`), wait for the new scene's first success report (False),
start the recorder (`<recorder>/start`), watch the sim's `~/success` until it has held for `hold` s of
sim time (success) or `max_steps` control periods have passed without it (failure; a success reached
in time is given its `hold`, as the in-process env counts success within its episode length), let the
recorder assemble the steps up to that moment (until its status says it has: it assembles a step a
control period + its lag after the step's time, later when it is behind its queues on a loaded
machine), label the episode (`<recorder>/label_success`) and save it (`<recorder>/save`).
Time is the sim's (/clock). Errors are explicit: a service that does not answer within
`service_timeout`, sim time that stops advancing for `stall_timeout` wall seconds, or a node process
that died (the `check` callback raises) end the loop with a message naming what failed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable

from rosgraph_msgs.msg import Clock
from std_msgs.msg import Bool, String

from robot_rl.ros import convert, qos
from robot_rl.ros.client import GraphClient


@dataclasses.dataclass(frozen=True)
class OperatorConfig:
    """How the scripted operator runs episodes."""

    max_steps: int = 80
    """Control periods (sim time) the task has to succeed in; no success by then labels the episode failed."""
    control_hz: float = 10.0
    """Control rate (Hz) that turns `max_steps` into sim time."""
    hold: float = 0.5
    """Success must hold this long (s, sim time) before the episode is labelled successful and ends, so
    its last frames show the finished task (the success classifier's positives)."""
    catch_up: float = 10.0
    """Wall seconds to wait for the recorder to report the step at the decision as assembled (one control
    period + its `lag` later at the earliest) before saving anyway (a recorder that never catches up ends
    the episode earlier)."""
    sim: str = "/sim"
    """Fully qualified name of the sim_node."""
    recorder: str = "/recorder"
    """Fully qualified name of the recorder_node."""
    service_timeout: float = 30.0
    """Wall seconds a service may take to appear and answer."""
    stall_timeout: float = 30.0
    """Wall seconds sim time may stand still before the loop gives up."""


@dataclasses.dataclass(frozen=True)
class EpisodeOutcome:
    """One recorded episode."""

    index: int
    """Episode index in the store (from the recorder's save)."""
    success: bool
    """The operator's label."""
    sim_s: float
    """Sim time from start to the decision (s)."""
    wall_s: float
    """Wall time of the whole episode, reset to save (s)."""
    reset: str
    """The sim's reset message (names the scene seed)."""


class Operator:
    """Runs episodes through `client`; `check()` is called while waiting and should raise if a node died."""

    def __init__(self, client: GraphClient, cfg: OperatorConfig = OperatorConfig(),
                 check: Callable[[], None] = lambda: None) -> None:
        self.client, self.cfg, self.check = client, cfg, check
        self.now = float("nan")  # sim time (s, ROS clock) of the newest /clock
        self.clock_wall = time.monotonic()
        self.fresh_false = False  # a False success report arrived since the last reset
        self.true_since: float | None = None  # sim time success turned (and stayed) True
        node = client.node
        node.create_subscription(Clock, "/clock", self._on_clock, qos.COMMAND)
        node.create_subscription(Bool, f"{cfg.sim}/success", self._on_success, qos.COMMAND)
        self.status = client.watch(f"{cfg.recorder}/status", String, qos.LATCHED, keep=1)

    def _on_clock(self, msg: Clock) -> None:
        t = convert.from_stamp(msg.clock)
        if not t <= self.now:  # also true while now is NaN
            self.now, self.clock_wall = t, time.monotonic()

    def _on_success(self, msg: Bool) -> None:
        if not msg.data:
            self.fresh_false, self.true_since = True, None
        elif self.true_since is None:
            self.true_since = self.now

    def recorder_status(self) -> dict:
        return json.loads(self.status[-1][1].data) if self.status else {}

    # ------------------------------------------------------------------ waiting
    def wait(self, predicate: Callable[[], bool], what: str, timeout: float | None = None) -> None:
        """Spin until `predicate()`; raise if a node died, sim time stalls or `timeout` (wall s) passes.
        Sim time counts as stalled only once it has started: before the first /clock only `timeout`
        applies (four node processes starting on two loaded cores took longer than `stall_timeout`)."""
        start = time.monotonic()
        while not predicate():
            self.client.spin(0.02)
            self.check()
            wall = time.monotonic()
            if timeout is not None and wall - start > timeout:
                raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
            if not math.isnan(self.now) and wall - max(self.clock_wall, start) > self.cfg.stall_timeout:
                raise TimeoutError(f"sim time stopped advancing (at {self.now:.2f} s) for "
                                   f"{self.cfg.stall_timeout:.0f} s while waiting for {what}; "
                                   f"is {self.cfg.sim} alive?")

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Wait until the sim publishes /clock and the recorder has received every stream, the arm targets
        and gripper commands included (the teleop device → bridge → recorder chain is connected: an
        episode started before discovery finished would begin without actions)."""
        self.wait(lambda: not math.isnan(self.now), "/clock from the sim", timeout)

        def streaming() -> bool:
            received = self.recorder_status().get("received", {})
            return bool(received) and min(received.values()) > 0

        try:
            self.wait(streaming, f"data on every stream of {self.cfg.recorder}", timeout)
        except TimeoutError as e:
            raise TimeoutError(f"{e}; recorder status: {self.recorder_status()}") from e

    # ------------------------------------------------------------------ episodes
    def _service(self, name: str, value: bool | None = None) -> str:
        service = f"{self.cfg.recorder if name != 'reset' else self.cfg.sim}/{name}"
        try:
            if value is None:
                return self.client.trigger(service, self.cfg.service_timeout, self.check)
            return self.client.set_bool(service, value, self.cfg.service_timeout, self.check)
        except (TimeoutError, RuntimeError) as e:
            self.check()  # a dead node is the better explanation
            raise RuntimeError(f"operator: {e}") from e

    def episode(self) -> EpisodeOutcome:
        """Record one episode (see the module docstring)."""
        cfg, wall = self.cfg, time.monotonic()
        reset = self._service("reset")
        self.fresh_false = False
        self.wait(lambda: self.fresh_false, f"the reset scene's first success report on {cfg.sim}/success")
        self._service("start")
        start, limit = self.now, cfg.max_steps / cfg.control_hz

        def held() -> bool:
            return self.true_since is not None and self.now - self.true_since >= cfg.hold - 1e-6

        def failed() -> bool:
            return self.now - start >= limit and self.true_since is None

        self.wait(lambda: held() or failed(), "success or the step limit")
        success, decided = held(), self.now

        def caught_up() -> bool:
            until = self.recorder_status().get("until")
            return until is not None and until >= decided - 0.5 / cfg.control_hz

        try:
            self.wait(caught_up, "the recorder to catch up", cfg.catch_up)
        except TimeoutError:
            pass  # save what there is: the episode ends where the recorder's data ends
        self._service("label_success", success)
        index = int(self._service("save").split()[-1])  # "saved episode <index>"
        return EpisodeOutcome(index, success, decided - start, time.monotonic() - wall, reset)

    def run(self, episodes: int, progress: bool = True) -> list[EpisodeOutcome]:
        """Record `episodes` episodes; a tqdm bar shows successes and wall seconds per episode."""
        from tqdm import tqdm

        out: list[EpisodeOutcome] = []
        with tqdm(total=episodes, desc="operator", unit="ep", disable=not progress) as bar:
            for _ in range(episodes):
                out.append(self.episode())
                bar.update(1)
                bar.set_postfix(success=f"{sum(o.success for o in out)}/{len(out)}",
                                sim_s=f"{out[-1].sim_s:.1f}")
        return out
