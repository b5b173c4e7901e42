"""FrankaArm (franky-control) against franky-sim on loopback: the real libfranka network protocol.

One franky-sim server for the module (started by FrankySim, stopped at the end). The sim runs at
≤ 1 kHz on shared cores, so waits are generous and tolerances are stated where they are checked.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("franky", reason="franky-control is not installed (pip install .[franka])")
pytest.importorskip("franky_sim", reason="franky-sim is not installed (pip install .[franka])")

from robot_rl.drivers.franka import FrankaArm, FrankaConnectionError, FrankaReflexError  # noqa: E402
from robot_rl.drivers.franka_config import FrankaConfig  # noqa: E402
from robot_rl.drivers.franka_sim import FrankySim  # noqa: E402
from robot_rl.env import rotations as rot  # noqa: E402
from robot_rl.env.safety import SafeArm, SafetyConfig, SafetyError  # noqa: E402

Q_MIN = np.array([-2.7437, -1.7837, -2.9007, -3.0421, -2.8065, 0.5445, -3.0159])  # FR3 joint limits, rad
Q_MAX = np.array([2.7437, 1.7837, 2.9007, -0.1518, 2.8065, 4.5169, 3.0159])
POS_TOL, ROT_TOL = 2e-3, 1e-2
"""Tracking tolerance at rest (m, rad); measured errors on franky-sim are < 1e-5 m and < 1e-4 rad."""


@pytest.fixture(scope="module")
def sim():
    with FrankySim() as server:
        yield server


@pytest.fixture(scope="module")
def arm(sim):
    a = FrankaArm(FrankaConfig(host=sim.host, realtime_ignore=True, relative_dynamics_factor=0.5,
                               home_dynamics_factor=0.8, max_linear_velocity=0.1))
    a.home()
    yield a
    a.close()


def _settle(arm: FrankaArm, timeout: float = 5.0):
    arm.robot.join_motion(timeout)
    return arm.state()


def test_unreachable_host_is_a_clear_bounded_error():
    t0 = time.monotonic()
    with pytest.raises(FrankaConnectionError, match=r"127\.255\.255\.254:1337"):
        FrankaArm(FrankaConfig(host="127.255.255.254", realtime_ignore=True, connect_timeout=1.0))
    assert time.monotonic() - t0 < 2.0


def test_state_is_finite_and_consistent(arm):
    s = _settle(arm)
    for v in (s.q, s.dq, s.ee_pos, s.ee_quat, s.wrench):
        assert np.isfinite(v).all()
    assert s.q.shape == s.dq.shape == (7,) and s.wrench.shape == (6,)
    assert (s.q > Q_MIN).all() and (s.q < Q_MAX).all()
    np.testing.assert_allclose(s.q, arm.config.home_q, atol=0.05)  # franky-sim's joint PD sags ~0.03 rad
    assert np.linalg.norm(s.ee_quat) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(s.ee_pos, [0.307, 0.0, 0.487], atol=0.03)  # ready pose, as in the mirror
    assert rot.angle_between(s.ee_quat, [1.0, 0.0, 0.0, 0.0]) < 0.01  # pointing down
    assert abs(s.time - time.monotonic()) < 0.1  # robot clock mapped to host monotonic
    assert 0.0 <= s.gripper <= 1.0


def test_tracks_a_streamed_cartesian_target(arm):
    s = _settle(arm)
    goal_quat = rot.multiply(rot.from_rotvec([0.0, 0.0, 0.2]), s.ee_quat)
    for k in range(1, 11):  # stream a 10-step ramp, newest target replaces the motion in flight
        arm.command(s.ee_pos + k / 10 * np.array([0.04, -0.03, -0.05]), rot.multiply(
            rot.from_rotvec([0.0, 0.0, 0.02 * k]), s.ee_quat), s.gripper)
        time.sleep(0.02)
    end = _settle(arm)
    assert np.linalg.norm(end.ee_pos - (s.ee_pos + [0.04, -0.03, -0.05])) < POS_TOL
    assert rot.angle_between(end.ee_quat, goal_quat) < ROT_TOL


def _wait_gripper(arm, predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate(arm.state().gripper):
            return True
        time.sleep(0.05)
    return False


def test_gripper_close_and_open_are_reflected_in_state(arm):
    s = _settle(arm)
    t0 = time.monotonic()
    arm.command(s.ee_pos, s.ee_quat, 0.0)
    assert time.monotonic() - t0 < 0.1  # non-blocking
    assert _wait_gripper(arm, lambda g: g < 0.05)
    arm.command(s.ee_pos, s.ee_quat, 1.0)
    assert _wait_gripper(arm, lambda g: g > 0.95)


def test_reflex_error_needs_explicit_recovery(arm, sim):
    s = _settle(arm)
    arm.command(s.ee_pos + [0.0, 0.05, 0.0], s.ee_quat, s.gripper)
    time.sleep(0.05)
    sim.inject_reflex()  # franky-sim cannot collide: the server reports a Cartesian reflex instead
    time.sleep(0.1)
    for _ in range(2):  # stays failed: nothing recovers silently
        with pytest.raises(FrankaReflexError, match="cartesian_reflex"):
            arm.command(s.ee_pos, s.ee_quat, s.gripper)
    arm.clear_error()
    arm.command(s.ee_pos, s.ee_quat, s.gripper)
    assert np.linalg.norm(_settle(arm).ee_pos - s.ee_pos) < POS_TOL


def test_unsafe_commands_never_reach_franky_sim(arm, sim):
    """Acceptance: targets outside the box, too-large steps and NaN never reach the server.

    Every target handed to FrankaArm is checked exactly (inside the box, finite, step-limited), and so
    are the 1 kHz setpoints franky-sim received: those franky interpolates towards a target that stops
    at the box wall overshoot it slightly (measured ≤ 1.9 mm at the 0.1 m/s cap; the analytic braking
    distance is 0.97 mm, see FrankaArm.braking_distance), so they are checked against box + 3 mm.
    """
    s = _settle(arm)
    lo, hi = s.ee_pos - 0.03, s.ee_pos + 0.03
    v = arm.config.max_linear_velocity
    margin = 3e-3
    forwarded = []
    arm_command = arm.command

    def record(pos, quat, gripper):
        forwarded.append(np.concatenate([pos, quat, [gripper]]))
        arm_command(pos, quat, gripper)

    arm.command = record  # instance attribute: SafeArm calls this, which calls FrankaArm.command
    cfg = SafetyConfig(workspace_min=tuple(lo), workspace_max=tuple(hi), max_translation=0.01,
                       max_rotation=0.1, control_period=0.05, watchdog_periods=100, max_linear_velocity=v)
    safe = SafeArm(arm, cfg, watchdog_thread=False)
    sim.reset_stats()
    safe.command(s.ee_pos + [0.5, 0.0, 0.0], s.ee_quat, s.gripper)  # outside the box, 50 cm step
    _settle(arm)
    first = sim.stats()
    assert first["max"][0] <= s.ee_pos[0] + 0.01 + 1e-5  # one step of at most max_translation
    for _ in range(40):  # keep pushing out of the box, down and sideways
        safe.command(s.ee_pos + [0.5, -0.4, -0.6], s.ee_quat, s.gripper)
        time.sleep(0.02)
    _settle(arm)
    before = sim.stats()
    for bad in ([np.nan, 0.0, 0.3], [0.4, np.inf, 0.3]):
        with pytest.raises(SafetyError):
            safe.command(np.array(bad), s.ee_quat, s.gripper)
    with pytest.raises(SafetyError):
        safe.command(s.ee_pos, s.ee_quat, float("nan"))
    time.sleep(0.2)
    after = sim.stats()
    assert after["count"] == before["count"]  # nothing was forwarded for the non-finite commands
    assert after["nonfinite"] == 0
    assert after["max"][0] > hi[0] - 1e-3 and max(after["min"][1:] - lo[1:]) < 1e-3  # walls reached
    assert np.all(np.asarray(after["min"]) >= lo - margin) and np.all(np.asarray(after["max"]) <= hi + margin)
    assert safe.counters.rejected_nonfinite == 3 and safe.counters.clipped_workspace == 41
    del arm.command
    fw = np.asarray(forwarded)
    assert len(fw) == 41 and np.isfinite(fw).all()
    assert (fw[:, :3] >= lo - 1e-9).all() and (fw[:, :3] <= hi + 1e-9).all()
    assert np.linalg.norm(np.diff(fw[:, :3], axis=0), axis=1).max() <= 0.01 + 1e-9
    print(f"setpoints min {after['min']} max {after['max']} box {lo} {hi} margin {margin:.4f}")
    end = arm.state().ee_pos
    assert np.all(end >= lo - POS_TOL) and np.all(end <= hi + POS_TOL)
    safe.command(s.ee_pos, s.ee_quat, s.gripper)  # back inside for the next test
    for _ in range(6):
        safe.command(s.ee_pos, s.ee_quat, s.gripper)
    _settle(arm)


def test_watchdog_thread_holds_the_arm(arm):
    s = _settle(arm)
    cfg = SafetyConfig(workspace_min=tuple(s.ee_pos - 0.2), workspace_max=tuple(s.ee_pos + 0.2),
                       max_translation=0.15, control_period=0.05, watchdog_periods=2)
    safe = SafeArm(arm, cfg)  # FrankaArm asks for the watchdog thread by default
    try:
        assert safe._thread is not None
        safe.command(s.ee_pos + [0.0, 0.15, 0.0], s.ee_quat, s.gripper)  # then the caller goes silent
        time.sleep(0.5)
        assert safe.counters.watchdog_holds == 1
        end = _settle(arm)
        assert end.ee_pos[1] - s.ee_pos[1] < 0.12  # held before reaching the 15 cm target
    finally:
        safe.stop_watchdog()
    arm.command(s.ee_pos, s.ee_quat, s.gripper)
    _settle(arm)
