"""Safety layer around any `Arm` (DESIGN §7): the same wrapper guards the hardware and the mirror.

`SafeArm(arm, SafetyConfig(...))` enforces, on every command:
- NaN/inf rejection (raise, or drop the command and count it);
- workspace box: the target position is clipped into [workspace_min, workspace_max] (base frame);
- per-command limits: the target moves at most `max_translation` (m) and `max_rotation` (rad) from
  the previous accepted target;
- velocity limits (optional): at most `max_linear_velocity` (m/s) and `max_angular_velocity` (rad/s)
  times the time since the previous accepted command (arm clock; one control period for the first
  command after a reset), so the target speed is bounded whatever rate commands arrive at;
- no jump at start-up: before the first command (and after home/stop/clear_error) the previous
  target is the arm's current pose;
- e-stop latch: `estop()` stops the arm and rejects every command until `clear_error()`.
The watchdog runs whenever the state is read (`state()` / `poll()`): with no fresh command for
`watchdog_periods` control periods, measured on the arm's own clock, the arm holds its current pose.
With `watchdog_thread=True` (the default for drivers that set `needs_watchdog_thread`, i.e. hardware)
a daemon thread calls `poll()` every `poll_period` s (default: one control period) and again just after
a pending deadline, so a caller that hangs cannot leave a streamed target running.
All Arm calls are serialized by one lock.
"""

from __future__ import annotations

import dataclasses
import threading
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
    max_linear_velocity: float | None = None
    """Largest target speed (m/s) over the time since the last accepted command; None = off."""
    max_angular_velocity: float | None = None
    """Largest target angular speed (rad/s) over the time since the last accepted command; None = off."""
    nonfinite: Literal["raise", "ignore"] = "raise"
    """What a NaN/inf command does: raise SafetyError, or get dropped (and counted)."""


@dataclasses.dataclass
class SafetyCounters:
    """How often each limit acted since the wrapper was created."""

    rejected_nonfinite: int = 0
    clipped_workspace: int = 0
    clipped_step: int = 0
    clipped_velocity: int = 0
    watchdog_holds: int = 0
    watchdog_errors: int = 0


class SafeArm(Arm):
    """Wraps `arm`; every command passes the limits in `config` before reaching it.

    `watchdog_thread`: run the watchdog from a background thread every `poll_period` s (None: one
    control period). None = on iff the arm declares `needs_watchdog_thread` (hardware drivers).
    """

    def __init__(self, arm: Arm, config: SafetyConfig = SafetyConfig(), watchdog_thread: bool | None = None,
                 poll_period: float | None = None) -> None:
        self.arm, self.config = arm, config
        self.counters = SafetyCounters()
        self.estopped = False
        self.watchdog_error: Exception | None = None
        """The last exception the watchdog thread's poll() raised (the thread keeps running)."""
        self._lo, self._hi = np.asarray(config.workspace_min, float), np.asarray(config.workspace_max, float)
        self._lock = threading.RLock()
        self._seen_time: float | None = None
        self._reset_target()
        if watchdog_thread is None:
            watchdog_thread = bool(getattr(arm, "needs_watchdog_thread", False))
        self._closing = threading.Event()
        self._thread = None
        if watchdog_thread:
            period = config.control_period if poll_period is None else poll_period
            self._thread = threading.Thread(target=self._watch, args=(period,), name="safearm-watchdog",
                                            daemon=True)
            self._thread.start()

    def _reset_target(self) -> None:
        self._last_pos: np.ndarray | None = None
        self._last_quat: np.ndarray | None = None
        self._last_gripper = 1.0
        self._last_time: float | None = None

    @property
    def last_command_time(self) -> float | None:
        """Arm-clock time (s) of the last accepted command; None while holding (watchdog disarmed)."""
        return self._last_time

    @property
    def watchdog_deadline(self) -> float | None:
        """Arm-clock time (s) after which the watchdog holds; None while disarmed."""
        if self._last_time is None:
            return None
        return self._last_time + self.config.watchdog_periods * self.config.control_period

    # ------------------------------------------------------------------ Arm interface
    def state(self) -> ArmState:
        with self._lock:
            s = self.arm.state()
            self._watchdog(s)
            return s

    def poll(self) -> None:
        """Run the watchdog now (for drivers whose state is not read at the control rate)."""
        self.state()

    def command(self, ee_pos: np.ndarray, ee_quat: np.ndarray, gripper: float) -> None:
        with self._lock:
            self._command(ee_pos, ee_quat, gripper)

    def _command(self, ee_pos: np.ndarray, ee_quat: np.ndarray, gripper: float) -> None:
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
        dt = self.config.control_period if self._last_time is None else s.time - self._last_time
        pos, quat = self._limit(pos, rot.normalize(quat), max(dt, 0.0))
        gripper = float(np.clip(gripper, 0.0, 1.0))
        self.arm.command(pos, quat, gripper)
        self._last_pos, self._last_quat, self._last_gripper, self._last_time = pos, quat, gripper, s.time

    def home(self) -> None:
        with self._lock:
            self._check_estop()
            self.arm.home()
            self._reset_target()

    def stop(self) -> None:
        with self._lock:
            self.arm.stop()
            self._reset_target()

    def estop(self) -> None:
        """Stop the arm and latch: commands raise EStopLatched until clear_error()."""
        self.estopped = True  # set before taking the lock: a command racing with us is refused
        self.stop()

    def clear_error(self) -> None:
        with self._lock:
            self.arm.clear_error()
            self.estopped = False
            self._reset_target()

    def stop_watchdog(self) -> None:
        """Stop the watchdog thread (close() does this too); the arm stays open."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join()

    def close(self) -> None:
        self.stop_watchdog()
        self.arm.close()

    # ------------------------------------------------------------------ limits
    def _step_limits(self, dt: float) -> tuple[float, float]:
        """Largest translation (m) and rotation (rad) allowed for a command `dt` s after the last."""
        cfg = self.config
        lin, ang = cfg.max_translation, cfg.max_rotation
        if cfg.max_linear_velocity is not None:
            lin = min(lin, cfg.max_linear_velocity * dt)
        if cfg.max_angular_velocity is not None:
            ang = min(ang, cfg.max_angular_velocity * dt)
        return lin, ang

    def _limit(self, pos: np.ndarray, quat: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        max_lin, max_ang = self._step_limits(dt)
        boxed = np.clip(pos, self._lo, self._hi)
        self.counters.clipped_workspace += int(not np.array_equal(boxed, pos))
        step = boxed - self._last_pos
        dist = float(np.linalg.norm(step))
        clipped = velocity = False
        if dist > max_lin:
            clipped, velocity = True, max_lin < cfg.max_translation
            boxed = self._last_pos + step * (max_lin / dist)
        turn = rot.difference(quat, self._last_quat)
        angle = float(np.linalg.norm(turn))
        if angle > max_ang:
            clipped, velocity = True, velocity or max_ang < cfg.max_rotation
            quat = rot.multiply(rot.from_rotvec(turn * (max_ang / angle)), self._last_quat)
        self.counters.clipped_step += int(clipped)
        self.counters.clipped_velocity += int(velocity)
        return boxed, quat

    def _check_estop(self) -> None:
        if self.estopped:
            raise EStopLatched("e-stop latched: call clear_error() first")

    def _watchdog(self, s: ArmState) -> None:
        self._seen_time = s.time
        deadline = self.watchdog_deadline
        if deadline is not None and s.time > deadline + 1e-9:
            self.counters.watchdog_holds += 1
            self._last_time = None  # holding; the next command re-arms the watchdog
            self._last_pos, self._last_quat = s.ee_pos.astype(float), s.ee_quat.astype(float)
            self.arm.command(s.ee_pos, s.ee_quat, self._last_gripper)

    def _next_wait(self, period: float) -> float:
        """Seconds until the next poll: one period, or just past the deadline if it comes sooner
        (assumes the arm clock runs at host speed, true on hardware; else the period bounds it)."""
        deadline = self.watchdog_deadline
        if deadline is None or self._seen_time is None:
            return period
        return min(period, max(deadline - self._seen_time, 0.0) + 1e-3)

    def _watch(self, period: float) -> None:
        """Watchdog thread: poll() every `period` s until close()."""
        while not self._closing.wait(self._next_wait(period)):
            try:
                self.poll()
            except Exception as e:  # e.g. the arm is in a reflex: it is already stopped; keep watching
                self.counters.watchdog_errors += 1
                self.watchdog_error = e
