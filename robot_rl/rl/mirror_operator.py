"""A simulated operator for human-in-the-loop fine-tuning on the MuJoCo mirror (HIL-SERL's interventions).

On a rig a person watches the practice and takes the teleop device when the policy goes wrong; their
actions replace the policy's and are stored as source "intervention" (robot_rl/rl/runner.py). In the
mirror this device plays that person: it reads the mirror's privileged state (so it never exists on
hardware), and once it sees a mistake it takes over with the task's scripted expert and holds the device
until the episode ends. Mistakes it sees:

- coming down beside the target (tasks in `APPROACHES`): the part that must meet it (pick_cube's TCP,
  peg_insert's peg tip) is lower than `height` above the target but further than `xy` from it
  horizontally;
- a missed grasp (tasks with a grasp target in `GRASP_KEYS`): the gripper has been closed for
  `closed_steps` steps while the TCP is further than `miss_xy` (horizontal) or `miss_z` (vertical) from
  the object;
- no success after `patience` of the episode's steps.

The runner calls `reset()` at every episode start and `read()` once per control step.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from robot_rl.drivers.teleop_base import TeleopCommand, TeleopDevice

GRASP_KEYS: dict[str, str] = {"pick_cube": "object_pos"}
"""Task → the privileged key of the position (m, base frame) its gripper must close on."""


@dataclasses.dataclass(frozen=True)
class Approach:
    """A task's approach check: `point(task config, state)` (m, base frame) comes down onto the position
    `state[target]`; lower than `height` above it but further than `xy` from it horizontally is wrong."""

    point: Callable[[Any, dict[str, np.ndarray]], np.ndarray]
    target: str
    height: float
    xy: float


def _tcp(cfg: Any, s: dict[str, np.ndarray]) -> np.ndarray:
    return np.asarray(s["ee_pos"], float)


def _peg_tip(cfg: Any, s: dict[str, np.ndarray]) -> np.ndarray:
    from robot_rl.tasks.peg_insert.reset import peg_tip

    return peg_tip(cfg, s)


APPROACHES: dict[str, Approach] = {
    # The 5-demo policy comes down vertically: its horizontal error 8 cm above the cube is its grasp's
    # (30 episodes: <= 3.1 cm in all 8 successes, > 3.5 cm in 11 of 22 failures).
    "pick_cube": Approach(_tcp, "object_pos", height=0.08, xy=0.035),
    # 24 episodes of the 5-demo policy, tip 1 cm above the hole: <= 1.3 cm off in its 4 successes,
    # > 1.5 cm in 15 of 20 failures (the others were 0.8-1.3 cm off).
    "peg_insert": Approach(_peg_tip, "hole_pos", height=0.01, xy=0.015),
}
"""Task → its approach check (tasks without one get the missed-grasp and patience checks only)."""


@dataclasses.dataclass(frozen=True)
class MirrorOperatorConfig:
    """When the simulated operator takes over."""

    patience: float = 0.75
    """Fraction of the task's episode steps after which an unfinished episode is taken over (pick_cube: the
    5-demo policy's successes took 52-63 of 80 steps; the expert needs ~40 from home)."""
    miss_xy: float = 0.03
    """m: a grasp closing with the TCP further than this from the object's centre (horizontally) is a miss.
    Measured with a 5-demo pick_cube policy (30 episodes, 3 steps after closing): the grasps of 7 of its 8
    successes were within 2.5 cm horizontally and vertically; all 22 failed episodes had closed outside
    these tolerances (most 3-6 cm too high or 3-8 cm to the side)."""
    miss_z: float = 0.028
    """m: a grasp closing with the TCP further than this above (or `miss_z` below) the object's centre is
    a miss."""
    closing: float = 0.5
    """Gripper opening (0..1) below which the gripper counts as closed."""
    closed_steps: int = 3
    """Consecutive closed steps before a grasp is judged (a one-step close is a flicker, not a grasp)."""
    seed: int = 0
    """Seeds the expert (noise-free by default: the operator knows the task)."""


class MirrorOperator(TeleopDevice):
    """`env`: a RobotEnv (mirror); the task's expert drives once engaged."""

    name = "mirror_operator"

    def __init__(self, env: Any, config: MirrorOperatorConfig = MirrorOperatorConfig()) -> None:
        self.env, self.config = env, config
        self.expert = env.task.expert(0.0, np.random.default_rng(config.seed))
        self.grasp_key = GRASP_KEYS.get(env.task.config.name)
        self.approach = APPROACHES.get(env.task.config.name)
        self.engaged, self.steps, self.closed = False, 0, 0
        self.takeovers: list[dict[str, Any]] = []
        """One entry per episode taken over: {"step", "why"}."""

    def reset(self) -> None:
        self.engaged, self.steps, self.closed = False, 0, 0

    def read(self) -> TeleopCommand:
        state = self.env.full_state()
        if not self.engaged:
            why = self.mistake(state)
            if why:
                self.engaged = True
                self.expert.reset()
                self.takeovers.append({"step": self.steps, "why": why})
        self.steps += 1
        if not self.engaged:
            return TeleopCommand(time.monotonic(), np.zeros(6), 1.0, False)
        action = self.expert.act(state)
        return TeleopCommand(time.monotonic(), action[:6].astype(float), 0.5 * (float(action[6]) + 1.0), True)

    def mistake(self, state: dict[str, np.ndarray]) -> str:
        """Why the operator would take over now ("" = let the policy go on)."""
        cfg = self.config
        if self.steps >= cfg.patience * self.env.task.config.episode_steps:
            return "patience"
        self.closed = self.closed + 1 if float(state["gripper"][0]) < cfg.closing else 0
        if (a := self.approach) is not None:
            d = a.point(self.env.task.config, state) - np.asarray(state[a.target], float)
            if d[2] < a.height and np.linalg.norm(d[:2]) > a.xy:
                return "coming down beside the target"
        if self.grasp_key is None:
            return ""
        d = np.asarray(state["ee_pos"], float) - np.asarray(state[self.grasp_key], float)
        off = np.linalg.norm(d[:2]) > cfg.miss_xy or abs(d[2]) > cfg.miss_z
        if self.closed >= cfg.closed_steps and off:
            return "missed grasp"
        return ""
