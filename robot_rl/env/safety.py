"""Safety layer around any `Arm` (DESIGN §7): the same wrapper guards the hardware and the mirror.

`SafeArm(arm, SafetyConfig(...))` enforces, on every command:
- NaN/inf rejection (raise, or drop the command and count it);
- workspace box: the target position is clipped into [workspace_min, workspace_max] (base frame);
- per-command limits: the target moves at most `max_translation` (m) and `max_rotation` (rad) from
  the previous accepted target (at the control rate this is also the velocity limit);
- no jump at start-up: before the first command (and after home/stop/clear_error) the previous
  target is the arm's current pose;
- e-stop latch: `estop()` stops the arm and rejects every command until `clear_error()`.
The watchdog runs whenever the state is read (`state()` / `poll()`): with no fresh command for
`watchdog_periods` control periods, measured on the arm's own clock, the arm holds its current pose.
Hardware drivers without a caller reading the state at the control rate call `poll()` from a timer.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from robot_rl.drivers.base import Arm, ArmState
from robot_rl.env import rotations as rot


class SafetyError(RuntimeError):
    """A command was refused for safety reasons."""


class EStopLatched(SafetyError):
    """The e-stop is latched; only `clear_error()` releases it."""


@dataclasses.dataclass(frozen=True)
class SafetyConfig:
    """Limits enforced on every arm command."""

    workspace_min: tuple[float, float, float] = (0.25, -0.35, 0.0)
    """Lower corner of the TCP workspace box (m, base frame)."""
    workspace_max: tuple[float, float, float] = (0.75, 0.35, 0.45)
    """Upper corner of the TCP workspace box (m, base frame)."""
    max_translation: float = 0.05
    """Largest move of the target per command (m)."""
    max_rotation: float = 0.3
    """Largest rotation of the target per command (rad)."""
    control_period: float = 0.1
    """Expected time between commands (s)."""
    watchdog_periods: int = 3
    """Hold the current pose after this many control periods without a command."""
    nonfinite: Literal["raise", "ignore"] = "raise"
    """What a NaN/inf command does: raise SafetyError, or get dropped (and counted)."""


@dataclasses.dataclass
class SafetyCounters:
    """How often each limit acted since the wrapper was created."""

    rejected_nonfinite: int = 0
    clipped_workspace: int = 0
    clipped_step: int = 0
    watchdog_holds: int = 0


class SafeArm(Arm):
    """Wraps `arm`; every command passes the limits in `config` before reaching it."""

    def __init__(self, arm: Arm, config: SafetyConfig = SafetyConfig()) -> None:
        self.arm, self.config = arm, config
        self.counters = SafetyCounters()
        self.estopped = False
        self._lo, self._hi = np.asarray(config.workspace_min, float), np.asarray(config.workspace_max, float)
        self._reset_target()

    def _reset_target(self) -> None:
        self._last_pos: np.ndarray | None = None
        self._last_quat: np.ndarray | None = None
        self._last_gripper = 1.0
        self._last_time: float | None = None

    # ------------------------------------------------------------------ Arm interface
    def state(self) -> ArmState:
        s = self.arm.state()
        self._watchdog(s)
        return s

    def poll(self) -> None:
        """Run the watchdog now (for drivers whose state is not read at the control rate)."""
        self.state()

    def command(self, ee_pos: np.ndarray, ee_quat: np.ndarray, gripper: float) -> None:
        if self.estopped:
            raise EStopLatched("e-stop latched: call clear_error() before commanding the arm")
        pos, quat = np.asarray(ee_pos, float), np.asarray(ee_quat, float)
        if not (np.isfinite(pos).all() and np.isfinite(quat).all() and np.isfinite(gripper)):
            self.counters.rejected_nonfinite += 1
            if self.config.nonfinite == "raise":
                raise SafetyError(f"non-finite command rejected: pos={pos}, quat={quat}, gripper={gripper}")
            return
        s = self.arm.state()
        if self._last_pos is None:  # first target = current pose: no jump at start-up
            self._last_pos, self._last_quat = s.ee_pos.astype(float), s.ee_quat.astype(float)
        pos, quat = self._limit(pos, rot.normalize(quat))
        gripper = float(np.clip(gripper, 0.0, 1.0))
        self.arm.command(pos, quat, gripper)
        self._last_pos, self._last_quat, self._last_gripper, self._last_time = pos, quat, gripper, s.time

    def home(self) -> None:
        self._check_estop()
        self.arm.home()
        self._reset_target()

    def stop(self) -> None:
        self.arm.stop()
        self._reset_target()

    def estop(self) -> None:
        """Stop the arm and latch: commands raise EStopLatched until clear_error()."""
        self.estopped = True
        self.stop()

    def clear_error(self) -> None:
        self.arm.clear_error()
        self.estopped = False
        self._reset_target()

    def close(self) -> None:
        self.arm.close()

    # ------------------------------------------------------------------ limits
    def _limit(self, pos: np.ndarray, quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        boxed = np.clip(pos, self._lo, self._hi)
        self.counters.clipped_workspace += int(not np.array_equal(boxed, pos))
        step = boxed - self._last_pos
        dist = float(np.linalg.norm(step))
        clipped = dist > cfg.max_translation
        if clipped:
            boxed = self._last_pos + step * (cfg.max_translation / dist)
        turn = rot.difference(quat, self._last_quat)
        angle = float(np.linalg.norm(turn))
        if angle > cfg.max_rotation:
            clipped = True
            quat = rot.multiply(rot.from_rotvec(turn * (cfg.max_rotation / angle)), self._last_quat)
        self.counters.clipped_step += int(clipped)
        return boxed, quat

    def _check_estop(self) -> None:
        if self.estopped:
            raise EStopLatched("e-stop latched: call clear_error() first")

    def _watchdog(self, s: ArmState) -> None:
        if self._last_time is None:
            return
        if s.time - self._last_time > self.config.watchdog_periods * self.config.control_period + 1e-9:
            self.counters.watchdog_holds += 1
            self.arm.command(s.ee_pos, s.ee_quat, self._last_gripper)
            self._last_pos, self._last_quat = s.ee_pos.astype(float), s.ee_quat.astype(float)
            self._last_time = None  # holding; the next command re-arms the watchdog
