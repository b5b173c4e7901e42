"""`franka` benchmarks against franky-sim (or a real arm): command roundtrip and watchdog reaction.

- `franka_command_roundtrip_p99_ms`: with the arm at rest, the host time from calling
  `FrankaArm.command()` with a new target 2 mm away until the first 1 kHz robot state whose
  commanded pose `O_T_EE_c` (the Cartesian setpoint the controller last received) differs from the
  one before the call. It covers franky starting the motion (TCP Move request and reply), the first
  setpoint over UDP, one controller cycle and the state packet back. p99 over `n` trials.
- `watchdog_reaction_ms`: through `SafeArm(..., watchdog_thread=True)` with the given safety
  config, the time from the watchdog deadline (last accepted command's arm-clock time, mapped to host
  monotonic, + watchdog_periods * control_period) to the return of the hold command handed to the
  driver. It includes the polling delay (≤ one poll period) and the clock-map error.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from robot_rl.drivers.base import Arm, ArmState
from robot_rl.env.safety import SafeArm, SafetyConfig


def command_roundtrip_ms(arm, n: int = 30, step: float = 0.002, timeout: float = 1.0) -> np.ndarray:
    """`n` roundtrip times (ms) of `arm` (a FrankaArm) as defined in the module docstring."""
    out = []
    for i in range(n):
        arm.robot.join_motion(5.0)
        s = arm.state()
        before = np.array(arm.robot.state.O_T_EE_c.matrix)
        target = s.ee_pos + [0.0, step if i % 2 == 0 else -step, 0.0]
        t0 = time.perf_counter()
        arm.command(target, s.ee_quat, s.gripper)
        while time.perf_counter() - t0 < timeout:
            if np.abs(np.array(arm.robot.state.O_T_EE_c.matrix) - before).max() > 1e-9:
                out.append((time.perf_counter() - t0) * 1e3)
                break
    return np.asarray(out)


class _HoldRecorder(Arm):
    """Passes everything to `arm`; notes host-monotonic times when command() calls return."""

    def __init__(self, arm: Arm) -> None:
        self.arm, self.returned = arm, []
        self.needs_watchdog_thread = getattr(arm, "needs_watchdog_thread", False)

    def state(self) -> ArmState:
        return self.arm.state()

    def command(self, ee_pos, ee_quat, gripper) -> None:
        self.arm.command(ee_pos, ee_quat, gripper)
        self.returned.append(time.monotonic())

    def home(self) -> None:
        self.arm.home()

    def stop(self) -> None:
        self.arm.stop()

    def clear_error(self) -> None:
        self.arm.clear_error()


def watchdog_reaction_ms(arm: Arm, config: SafetyConfig, n: int = 5) -> np.ndarray:
    """`n` watchdog reaction times (ms) through a threaded SafeArm (module docstring)."""
    rec = _HoldRecorder(arm)
    safe = SafeArm(rec, config, watchdog_thread=True)
    out = []
    try:
        for _ in range(n):
            s = safe.state()
            safe.command(s.ee_pos, s.ee_quat, s.gripper)
            deadline, count = safe.watchdog_deadline, len(rec.returned)
            end = time.monotonic() + (config.watchdog_periods + 5) * config.control_period
            while len(rec.returned) == count and time.monotonic() < end:
                time.sleep(0.001)
            if len(rec.returned) > count:
                out.append((rec.returned[count] - deadline) * 1e3)
    finally:
        safe.stop_watchdog()
    return np.asarray(out)


def franka_numbers(n: int = 50, config: SafetyConfig | None = None) -> dict[str, Any]:
    """Start franky-sim and measure the command roundtrip and the watchdog reaction."""
    from robot_rl.drivers.franka import FrankaArm
    from robot_rl.drivers.franka_config import FrankaConfig
    from robot_rl.drivers.franka_sim import FrankySim

    config = config or SafetyConfig()
    with FrankySim() as sim:
        arm = FrankaArm(FrankaConfig(host=sim.host, realtime_ignore=True, relative_dynamics_factor=0.5))
        try:
            rt = command_roundtrip_ms(arm, n)
            wd = watchdog_reaction_ms(arm, config, n=max(3, n // 10))
        finally:
            arm.close()
    results = {
        "franka_command_roundtrip_p99_ms": float(np.percentile(rt, 99)),
        "franka_command_roundtrip_p50_ms": float(np.percentile(rt, 50)),
        "watchdog_reaction_ms": float(np.max(wd)),
        "watchdog_reaction_p50_ms": float(np.percentile(wd, 50)),
        "control_period_s": config.control_period,
        "watchdog_periods": config.watchdog_periods,
        "trials": {"roundtrip": len(rt), "watchdog": len(wd)},
        "peer": "franky-sim (MuJoCo, libfranka protocol on loopback)",
    }
    return results
