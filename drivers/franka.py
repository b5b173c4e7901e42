"""FrankaArm: a Franka (Panda / FR3) arm + Hand through franky-control (libfranka), as an `Arm`.

Streamed targets. Every `command()` starts a `franky.CartesianMotion` to the absolute target pose with
`asynchronous=True`; franky replaces the motion in flight, re-planning from the current position,
velocity and acceleration with its jerk-limited trajectory generator (Ruckig). We use it rather than a
Cartesian impedance (torque) tracker or velocity motions because (i) the arm's own position/impedance
controller keeps tracking and the collision reflexes at 1 kHz, with no Python in the loop, (ii) the
generated setpoints respect the velocity/acceleration/jerk limits by construction, so a target that
jumps can never trigger libfranka's discontinuity reflexes, and (iii) the arm converges to the target
with no steady-state error (an impedance tracker sags under gravity/payload errors and needs per-
payload tuning). Limits on the target itself (box, steps, velocity, watchdog) are robot_rl.env.safety's.

Gripper commands are non-blocking: a worker thread executes the newest opening (0 closed .. 1 open,
mapped linearly to 0..max_width m) as a Hand move, or as a force grasp below `grasp_below`.

Errors: the host is checked with a bounded TCP connect first (`FrankaConnectionError`); a reflex that
aborts a motion surfaces as `FrankaReflexError` on the next command, and commands keep failing until
`clear_error()` runs franky's automatic error recovery. Nothing recovers silently.
Frames/units: base frame, metres, unit quaternions xyzw (franky's `Affine.quaternion` order).
"""

from __future__ import annotations

import socket
import threading
import time

import franky
import numpy as np

from robot_rl.drivers.base import Arm, ArmState
from robot_rl.drivers.franka_config import FrankaConfig

FCI_PORT = 1337
"""libfranka's TCP command port on the robot controller."""


class FrankaError(RuntimeError):
    """Any failure reported by the Franka driver."""


class FrankaConnectionError(FrankaError):
    """The robot (or franky-sim) cannot be reached or the connection was lost."""


class FrankaReflexError(FrankaError):
    """A robot reflex / control error aborted the motion; call `clear_error()` before commanding."""


class ClockMap:
    """Maps the robot's clock (s since controller start) to host `time.monotonic()` (s).

    The offset host - robot is the smallest seen (the least-delayed sample); when a sample arrives
    more than `resync` s later than the map predicts (drift, stall), the map re-anchors on it.
    Cameras use drivers/clock_sync.ClockMapper (a windowed minimum checked against frame counts);
    state reads here are sparse and a simulated robot's clock can run slower than real time, so this
    map re-anchors on lateness instead (with the windowed minimum, franky-sim under load delayed the
    watchdog by 1.5 s).
    """

    def __init__(self, resync: float) -> None:
        self.resync, self.offset = resync, None

    def __call__(self, robot_time: float, host_now: float) -> float:
        sample = host_now - robot_time
        if self.offset is None or sample < self.offset or sample - self.offset > self.resync:
            self.offset = sample
        return robot_time + self.offset


def _probe(host: str, timeout: float) -> None:
    """Raise FrankaConnectionError unless TCP `host`:1337 accepts a connection within `timeout` s."""
    try:
        with socket.create_connection((host, FCI_PORT), timeout=timeout):
            pass
    except OSError as e:
        raise FrankaConnectionError(
            f"cannot reach the Franka controller at {host}:{FCI_PORT} within {timeout:.1f} s ({e}). "
            "Check the cable to the controller's shop-floor port, the host's static IP in the robot's "
            "subnet, that the brakes are open and FCI is activated in Desk.") from e


class _GripperWorker(threading.Thread):
    """Executes the newest gripper opening command in the background (Hand calls block)."""

    def __init__(self, gripper: franky.Gripper, config: FrankaConfig) -> None:
        super().__init__(name="franka-gripper", daemon=True)
        self.gripper, self.config = gripper, config
        self.max_width = float(gripper.max_width) or 0.08
        self.width = float(gripper.width)
        self.error: Exception | None = None
        self._target: float | None = None
        self._wake = threading.Condition()
        self._closed = False

    def submit(self, opening: float) -> None:
        with self._wake:
            self._target = opening
            self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()

    def run(self) -> None:
        while True:
            with self._wake:
                while self._target is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                opening, self._target = self._target, None
            self._execute(opening)

    def _execute(self, opening: float) -> None:
        cfg, width = self.config, opening * self.max_width
        try:
            if opening < cfg.grasp_below:  # close on whatever is there, with force
                self.gripper.grasp(0.0, cfg.gripper_speed, cfg.gripper_force,
                                   epsilon_inner=self.max_width, epsilon_outer=self.max_width)
            else:
                self.gripper.move(width, cfg.gripper_speed)
        except Exception as e:  # kept and reported by FrankaArm.command(); the worker keeps serving
            self.error = e

    def opening(self) -> float:
        """Measured opening 0..1 (reads the Hand's state, ~1 ms)."""
        self.width = float(self.gripper.width)
        return float(np.clip(self.width / self.max_width, 0.0, 1.0))


class FrankaArm(Arm):
    """The arm at `config.host`. Wrap it in robot_rl.env.safety.SafeArm, which starts its watchdog
    thread for this driver (`needs_watchdog_thread`)."""

    needs_watchdog_thread = True
    """Nothing else reads the state at the control rate on hardware: SafeArm polls from a thread."""

    def __init__(self, config: FrankaConfig) -> None:
        self.config = config
        _probe(config.host, config.connect_timeout)
        rt = franky.RealtimeConfig.Ignore if config.realtime_ignore else franky.RealtimeConfig.Enforce
        try:
            self.robot = franky.Robot(config.host, relative_dynamics_factor=config.relative_dynamics_factor,
                                      default_torque_threshold=config.torque_threshold,
                                      default_force_threshold=config.force_threshold, realtime_config=rt)
        except franky.NetworkException as e:
            raise FrankaConnectionError(f"libfranka could not connect to {config.host}: {e}") from e
        except franky.RealtimeException as e:
            raise FrankaError(f"{e}: install a PREEMPT_RT kernel or set realtime_ignore=True") from e
        self._cap_velocities()
        self._gripper = _GripperWorker(franky.Gripper(config.host), config) if config.gripper else None
        if self._gripper is not None:
            self._gripper.start()
        self._clock = ClockMap(config.clock_resync)
        self._last_gripper: float | None = None
        self.error: FrankaError | None = None
        """The reflex/control error that stopped the arm, until `clear_error()`."""
        self.planner_failures = 0
        """Streamed targets franky's trajectory generator could not plan (the arm held; see command())."""

    def _cap_velocities(self) -> None:
        """Apply the config's velocity caps to franky's limits (which it scales by the dynamics factor)."""
        cfg, factor = self.config, self.config.relative_dynamics_factor
        if cfg.max_linear_velocity is not None:
            self.robot.translation_velocity_limit.set(cfg.max_linear_velocity / factor)
        if cfg.max_angular_velocity is not None:
            self.robot.rotation_velocity_limit.set(cfg.max_angular_velocity / factor)

    def braking_distance(self) -> float:
        """Upper bound (m) on how far the interpolated setpoints travel after a target stops moving:
        v²/(2a) + v·a/j at the capped velocity v and franky's acceleration a and jerk j limits."""
        f = self.config.relative_dynamics_factor
        v = self.robot.translation_velocity_limit.get() * f
        a = self.robot.translation_acceleration_limit.get() * f
        j = self.robot.translation_jerk_limit.get() * f
        return v * v / (2 * a) + v * a / j

    # ------------------------------------------------------------------ state
    def state(self) -> ArmState:
        rs = self.robot.state  # one consistent 1 kHz sample (waits for the next packet, ~1 ms)
        now = time.monotonic()
        pose = rs.O_T_EE
        return ArmState(
            time=self._clock(rs.time.to_sec(), now),
            q=np.asarray(rs.q, dtype=float).copy(),
            dq=np.asarray(rs.dq, dtype=float).copy(),
            ee_pos=np.asarray(pose.translation, dtype=float).copy(),
            ee_quat=np.asarray(pose.quaternion, dtype=float).copy(),
            wrench=np.asarray(rs.O_F_ext_hat_K, dtype=float).copy(),  # external wrench, base frame
            gripper=self._gripper.opening() if self._gripper is not None else 0.0,
        )

    @property
    def robot_time(self) -> float:
        """The robot controller's clock (s since start), unmapped."""
        return self.robot.state.time.to_sec()

    # ------------------------------------------------------------------ commands
    def command(self, ee_pos: np.ndarray, ee_quat: np.ndarray, gripper: float) -> None:
        self._raise_if_failed()
        target = franky.Affine(np.asarray(ee_pos, dtype=float), np.asarray(ee_quat, dtype=float))
        self._franky(lambda: self.robot.move(franky.CartesianMotion(target, franky.ReferenceType.Absolute),
                                             asynchronous=True))
        self._command_gripper(float(gripper))

    def _command_gripper(self, opening: float) -> None:
        if self._gripper is None:
            return
        if self._last_gripper is None or abs(opening - self._last_gripper) > self.config.gripper_deadband:
            self._last_gripper = opening
            self._gripper.submit(opening)

    def home(self) -> None:
        """Blocking joint motion to `config.home_q`; opens the gripper (non-blocking)."""
        self._raise_if_failed()
        self._settle()
        motion = franky.JointMotion(np.asarray(self.config.home_q, dtype=float),
                                    relative_dynamics_factor=self.config.home_dynamics_factor)
        self._franky(lambda: self.robot.move(motion, asynchronous=True))
        self._join(self.config.home_timeout, "home()")
        self._last_gripper = None
        self._command_gripper(1.0)

    def stop(self) -> None:
        """Decelerate to rest (jerk-limited) and hold; blocks up to `config.stop_timeout` s."""
        if self.error is None:
            self._settle()

    def clear_error(self) -> None:
        """Run the controller's automatic error recovery (explicit; never called by the driver itself)."""
        try:
            ok = self.robot.recover_from_errors()
        except (franky.CommandException, franky.NetworkException) as e:
            raise FrankaError(f"error recovery failed: {e}") from e
        if not ok:
            raise FrankaError("error recovery was refused (check the user stop / Desk)")
        self.error = None
        if self._gripper is not None:
            self._gripper.error = None

    def close(self) -> None:
        if self._gripper is not None:
            self._gripper.close()
        try:
            self.stop()
        except FrankaError:
            pass  # closing a failed arm: nothing left to stop

    # ------------------------------------------------------------------ helpers
    def _settle(self) -> None:
        """Bring a running motion to rest, so the next motion may be of another type."""
        if self._franky(lambda: self.robot.is_in_control):
            self._franky(lambda: self.robot.move(franky.CartesianStopMotion(), asynchronous=True))
            self._join(self.config.stop_timeout, "stop()")

    def _join(self, timeout: float, what: str) -> None:
        if not self._franky(lambda: self.robot.join_motion(timeout)):
            raise FrankaError(f"{what} did not finish within {timeout:.1f} s")

    def _raise_if_failed(self) -> None:
        try:
            self._franky(self.robot.poll_motion)  # re-raises an error from the motion in flight
        except RuntimeError as e:
            # franky's trajectory generator can fail to plan from the state a replaced motion left
            # (seen under CPU load against franky-sim). The arm holds; the next command plans afresh
            # from the current state, so it is counted, not fatal.
            if "Motion planner failed" not in str(e):
                raise
            self.planner_failures += 1
        if self.error is not None:
            raise FrankaReflexError(f"{self.error} — call clear_error() before commanding the arm")
        if self._gripper is not None and self._gripper.error is not None:
            e, self._gripper.error = self._gripper.error, None
            raise FrankaError(f"gripper command failed: {e}") from e

    def _franky(self, call):
        """Run a franky call, translating its exceptions into this module's typed errors."""
        try:
            return call()
        except franky.ControlException as e:
            self.error = FrankaReflexError(f"motion aborted by the robot: {e}")
            raise self.error from e
        except franky.NetworkException as e:
            raise FrankaConnectionError(f"connection to {self.config.host} lost: {e}") from e
        except (franky.CommandException, franky.InvalidMotionTypeException) as e:
            raise FrankaError(str(e)) from e
