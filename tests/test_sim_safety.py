"""The safety layer (robot_rl.env.safety) around the mirror's SimArm, used exactly as on hardware."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from robot_rl.drivers.mujoco.assets import load_scene
from robot_rl.drivers.mujoco.sim import MujocoSim
from robot_rl.drivers.mujoco.sim_arm import SimArm
from robot_rl.env import rotations as rot
from robot_rl.env.safety import EStopLatched, SafeArm, SafetyConfig, SafetyError

SCENE = '<mujoco><include file="franka_panda.xml"/><include file="tabletop.xml"/></mujoco>'
CFG = SafetyConfig(workspace_min=(0.25, -0.3, 0.05), workspace_max=(0.7, 0.3, 0.5), max_translation=0.05,
                   max_rotation=0.2, control_period=0.1, watchdog_periods=3)


@pytest.fixture(scope="module")
def model():
    return load_scene(SCENE)


def _arm(model, config=CFG) -> tuple[SafeArm, MujocoSim]:
    sim = MujocoSim(model)
    arm = SafeArm(SimArm(sim), config)
    arm.home()
    return arm, sim


def test_first_target_is_current_pose_and_steps_are_limited(model):
    arm, sim = _arm(model)
    s = arm.state()
    arm.command(s.ee_pos + [0.3, 0.0, 0.0], s.ee_quat, 1.0)  # a 30 cm jump
    assert np.linalg.norm(sim.target_pos - s.ee_pos) == pytest.approx(0.05)
    assert arm.counters.clipped_step == 1
    far = rot.multiply(rot.from_rotvec([0, 0, 1.0]), s.ee_quat)
    arm.command(sim.target_pos, far, 1.0)
    target_xyzw = sim.target_quat[[1, 2, 3, 0]]
    assert rot.angle_between(target_xyzw, s.ee_quat) == pytest.approx(0.2, abs=1e-6)


def test_workspace_box_clips_target(model):
    arm, sim = _arm(model, SafetyConfig(workspace_min=(0.25, -0.3, 0.2), workspace_max=(0.7, 0.3, 0.5),
                                        max_translation=1.0))
    s = arm.state()
    arm.command(np.array([0.5, 0.0, -0.5]), s.ee_quat, 1.0)
    assert sim.target_pos[2] == pytest.approx(0.2)
    assert arm.counters.clipped_workspace == 1


def test_nonfinite_commands_raise_or_are_dropped(model):
    arm, sim = _arm(model)
    s = arm.state()
    with pytest.raises(SafetyError):
        arm.command(np.array([np.nan, 0, 0.3]), s.ee_quat, 1.0)
    arm2, sim2 = _arm(model, SafetyConfig(nonfinite="ignore"))
    before = sim2.target_pos.copy()
    arm2.command(s.ee_pos, s.ee_quat, float("inf"))
    assert arm2.counters.rejected_nonfinite == 1
    np.testing.assert_array_equal(sim2.target_pos, before)


def test_watchdog_holds_current_pose_without_fresh_commands(model):
    arm, sim = _arm(model)
    s = arm.state()
    arm.command(s.ee_pos + [0.0, 0.0, -0.05], s.ee_quat, 1.0)
    for _ in range(3):
        sim.advance(0.1)
        arm.state()
    assert arm.counters.watchdog_holds == 0
    sim.advance(0.1)
    s = arm.state()  # 4 periods without a command: hold here
    assert arm.counters.watchdog_holds == 1
    np.testing.assert_allclose(sim.target_pos, s.ee_pos)


def test_estop_latches_until_clear_error(model):
    arm, sim = _arm(model)
    s = arm.state()
    arm.estop()
    with pytest.raises(EStopLatched):
        arm.command(s.ee_pos, s.ee_quat, 1.0)
    with pytest.raises(EStopLatched):
        arm.command(s.ee_pos, s.ee_quat, 1.0)  # still latched: no silent recovery
    arm.clear_error()
    arm.command(s.ee_pos, s.ee_quat, 1.0)


def test_velocity_limit_uses_time_since_last_command(model):
    arm, sim = _arm(model, dataclasses.replace(CFG, max_linear_velocity=0.1, max_angular_velocity=1.0))
    s = arm.state()
    arm.command(s.ee_pos + [0.0, 0.0, -0.3], s.ee_quat, 1.0)  # first command: one control period
    assert np.linalg.norm(sim.target_pos - s.ee_pos) == pytest.approx(0.01)
    first = sim.target_pos.copy()
    sim.advance(0.02)  # commands 5x faster than the control rate: proportionally smaller steps
    arm.command(s.ee_pos + [0.0, 0.0, -0.3], s.ee_quat, 1.0)
    assert np.linalg.norm(sim.target_pos - first) == pytest.approx(0.002, rel=1e-3)
    assert arm.counters.clipped_velocity == 2
    sim.advance(0.02)
    arm.command(sim.target_pos, rot.multiply(rot.from_rotvec([0, 0, 0.5]), s.ee_quat), 1.0)
    assert rot.angle_between(sim.target_quat[[1, 2, 3, 0]], s.ee_quat) == pytest.approx(0.02, rel=1e-3)


def test_watchdog_thread_holds_without_a_caller(model):
    arm, sim = _arm(model)
    thread_arm = SafeArm(arm.arm, CFG, watchdog_thread=True, poll_period=0.01)
    try:
        s = thread_arm.state()
        thread_arm.command(s.ee_pos + [0.0, 0.0, -0.05], s.ee_quat, 1.0)
        with thread_arm._lock:  # the mirror is not thread-safe: advance it while the watchdog waits
            sim.advance(0.35)
        deadline = time.monotonic() + 2.0
        while thread_arm.counters.watchdog_holds == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert thread_arm.counters.watchdog_holds == 1
        np.testing.assert_allclose(sim.target_pos, thread_arm.arm.state().ee_pos)
    finally:
        thread_arm.stop_watchdog()
