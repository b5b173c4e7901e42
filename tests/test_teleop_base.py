"""Shared teleop mapping: deadzone, scaling, frames, gripper toggle, engaged flag, episode buttons."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_rl.drivers.teleop_base import (
    OPERATOR_BEHIND_ROBOT,
    OPERATOR_FACING_ROBOT,
    CommandMapper,
    PressTracker,
    TeleopCommand,
    TeleopMapping,
    apply_deadzone,
    is_engaged,
    map_axes,
    rpy_to_matrix,
    teleop_to_action,
)


def test_deadzone_is_zero_inside_continuous_and_full_at_the_end():
    d = 0.1
    x = np.array([0.0, 0.05, -0.1, 0.1 + 1e-9, 0.55, -0.55, 1.0, -1.0, 3.0])
    y = apply_deadzone(x, d)
    np.testing.assert_allclose(y[:4], 0.0, atol=1e-8)
    np.testing.assert_allclose(y[4:], [0.5, -0.5, 1.0, -1.0, 1.0])
    fine = np.linspace(-1, 1, 2001)
    out = apply_deadzone(fine, d)
    assert np.all(np.diff(out) >= 0) and np.abs(np.diff(out)).max() < 0.002  # monotonic, no jump
    np.testing.assert_array_equal(apply_deadzone(fine, 0.0), fine)


def test_rotation_presets_map_device_axes_to_base_axes():
    # operator behind the robot: pushing forward (device +y) moves the robot forward (base +x),
    # pushing right (device +x) moves it to the robot's right (base -y)
    behind = rpy_to_matrix(OPERATOR_BEHIND_ROBOT)
    np.testing.assert_allclose(behind @ [0, 1, 0], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(behind @ [1, 0, 0], [0, -1, 0], atol=1e-12)
    facing = rpy_to_matrix(OPERATOR_FACING_ROBOT)
    np.testing.assert_allclose(facing @ [0, 1, 0], [-1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(facing @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    r = rpy_to_matrix((0.3, -0.7, 1.1))
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)
    np.testing.assert_allclose(rpy_to_matrix((math.pi / 2, 0, 0)) @ [0, 1, 0], [0, 0, 1], atol=1e-12)


def test_map_axes_rotates_linear_and_angular_parts_and_applies_sign_and_scale():
    m = TeleopMapping(deadzone=0.0, device_rpy=OPERATOR_BEHIND_ROBOT)
    twist = map_axes(np.array([0, 0.5, 0, 0, 0, 0.4]), m)  # forward + yaw: yaw axis (z) is unchanged
    np.testing.assert_allclose(twist, [0.5, 0, 0, 0, 0, 0.4], atol=1e-12)
    twist = map_axes(np.array([0, 0, 0, 0, 0.8, 0]), m)  # pitch about device y = about base x
    np.testing.assert_allclose(twist, [0, 0, 0, 0.8, 0, 0], atol=1e-12)
    m = TeleopMapping(deadzone=0.0, linear_scale=0.5, angular_scale=2.0, axis_sign=(1, -1, 1, 1, 1, -1))
    twist = map_axes(np.array([1, 1, 0, 0.2, 0.9, 0.3]), m)
    np.testing.assert_allclose(twist, [0.5, -0.5, 0, 0.4, 1.0, -0.6])


def test_engaged_by_axis_outside_deadzone_or_engage_button():
    assert not is_engaged(np.full(6, 0.05), 0.1)
    assert is_engaged(np.array([0, 0, 0, 0, -0.2, 0]), 0.1)
    assert is_engaged(np.zeros(6), 0.1, engage_held=True)


def test_mapper_toggles_gripper_on_press_and_reports_one_shot_buttons():
    mapper = CommandMapper(TeleopMapping(deadzone=0.1))
    idle = mapper(1.0, np.zeros(6), frozenset(), frozenset())
    assert idle.gripper == 1.0 and not idle.engaged
    assert not (idle.success or idle.discard or idle.next_episode)
    closed = mapper(1.1, np.zeros(6), frozenset({"gripper"}), frozenset({"gripper"}))
    assert closed.gripper == 0.0 and closed.engaged  # toggling the gripper is an intervention
    held = mapper(1.2, np.zeros(6), frozenset({"gripper"}), frozenset())
    assert held.gripper == 0.0 and not held.engaged  # holding does not toggle again
    cmd = mapper(1.3, np.zeros(6), frozenset({"engage"}), frozenset({"success", "discard", "next_episode"}))
    assert cmd.success and cmd.discard and cmd.next_episode and cmd.engaged and cmd.time == 1.3
    assert mapper(1.4, np.zeros(6), frozenset(), frozenset({"gripper"})).gripper == 1.0
    mapper.reset()
    assert mapper.gripper == 1.0
    with pytest.raises(ValueError, match="unknown button roles"):
        mapper(1.5, np.zeros(6), frozenset({"fire"}), frozenset())


def test_press_tracker_keeps_short_clicks_between_reads():
    p = PressTracker()
    p.update({"success"})
    p.update(set())  # released before anyone read
    p.update({"gripper"})
    assert p.take() == {"success", "gripper"}
    assert p.take() == frozenset()
    p.update({"gripper"})  # still held: no new press
    assert p.take() == frozenset() and p.held == {"gripper"}


def test_teleop_to_action_matches_the_env_action_convention():
    cmd = TeleopCommand(time=0.0, twist=np.array([0.5, -1, 0, 0.25, 0, 2.0]), gripper=0.0, engaged=True)
    a = teleop_to_action(cmd)
    assert a.dtype == np.float32 and a.shape == (7,)
    np.testing.assert_allclose(a, [0.5, -1, 0, 0.25, 0, 1.0, -1.0])  # closed gripper = -1
    open_ = TeleopCommand(time=0.0, twist=np.zeros(6), gripper=1.0, engaged=False)
    np.testing.assert_allclose(teleop_to_action(open_, linear_gain=0.5)[6], 1.0)
    np.testing.assert_allclose(teleop_to_action(cmd, linear_gain=0.5)[:3], [0.25, -0.5, 0])
