"""SpaceMouse: the HID report parser on recorded/constructed report bytes, and the device read path
driven by a replay of reports (no SpaceMouse on CI)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from robot_rl.drivers.spacemouse import (
    SpaceMouse,
    SpaceMouseConfig,
    SpaceMouseRaw,
    held_roles,
    parse_report,
)
from robot_rl.drivers.teleop_base import TeleopMapping


def report(rid: int, *values: int) -> bytes:
    return bytes([rid]) + struct.pack(f"<{len(values)}h", *values)


# Byte-for-byte reports in the SpaceNavigator layout (id 1 translation, id 2 rotation, id 3 buttons):
PUSH_RIGHT_FULL = bytes.fromhex("015e0100000000")  # x = +350
PUSH_AWAY_HALF = bytes.fromhex("010000" "51ff" "0000")  # y = -175 (HID y points towards the user)
LIFT_FULL = bytes.fromhex("0100000000" "a2fe")  # z = -350 (HID z points down)
TWIST_CCW = bytes.fromhex("02" "0000" "0000" "a2fe")  # rz = -350 (HID: clockwise from above is +)
LEFT_BUTTON = bytes.fromhex("030100")
BOTH_RELEASED = bytes.fromhex("030000")


def test_split_layout_signs_and_full_scale():
    s = parse_report(PUSH_RIGHT_FULL)
    np.testing.assert_allclose(s.axes, [1, 0, 0, 0, 0, 0])
    s = parse_report(PUSH_AWAY_HALF, s)  # a new translation report replaces x, y, z together
    np.testing.assert_allclose(s.axes, [0, 0.5, 0, 0, 0, 0])
    s = parse_report(LIFT_FULL, s)
    np.testing.assert_allclose(s.axes, [0, 0, 1, 0, 0, 0])
    s = parse_report(TWIST_CCW, s)  # rotation report keeps the translation
    np.testing.assert_allclose(s.axes, [0, 0, 1, 0, 0, 1])
    s = parse_report(report(2, 175, -350, 0), s)  # rx +, ry - → roll +, pitch + (z-up frame)
    np.testing.assert_allclose(s.axes, [0, 0, 1, 0.5, 1, 0])
    s = parse_report(report(1, 700, -32768, 0), s)  # beyond full scale clips to ±1
    np.testing.assert_allclose(s.axes[:3], [1, 1, 0])


def test_combined_13_byte_layout_of_newer_devices():
    data = report(1, 100, -200, 300, -350, 35, 70)
    assert len(data) == 13
    s = parse_report(data)
    np.testing.assert_allclose(s.axes, np.array([100, 200, -300, -350, -35, -70]) / 350)
    s = parse_report(bytes.fromhex("170064"), s)  # battery report (id 0x17) changes nothing
    np.testing.assert_allclose(s.axes, np.array([100, 200, -300, -350, -35, -70]) / 350)
    s = parse_report(bytes.fromhex("0101"), s)  # truncated report ignored
    np.testing.assert_allclose(s.axes[0], 100 / 350)


def test_buttons_bitmask_and_roles():
    s = parse_report(LEFT_BUTTON)
    assert s.buttons == 1 and not s.axes.any()
    s = parse_report(bytes.fromhex("0302"), s)
    assert s.buttons == 2
    pro = parse_report(bytes.fromhex("0300100000"))  # SpaceMouse Pro button "1": byte 2, bit 4
    assert pro.buttons == 1 << 12
    roles = (("gripper", 0), ("success", 1), ("discard", 12))
    assert held_roles(3, roles) == {"gripper", "success"}
    assert held_roles(pro.buttons, roles) == {"discard"}
    assert parse_report(BOTH_RELEASED, s).buttons == 0


class Replay:
    """A recorded stream of HID reports, read like a non-blocking hidapi device (one report per read)."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []
        self.closed = False

    def read(self, n: int) -> list[int]:
        return list(self.pending.pop(0)[:n]) if self.pending else []

    def close(self) -> None:
        self.closed = True


def test_device_maps_reports_to_base_frame_commands_and_never_loses_a_click():
    replay = Replay()
    sm = SpaceMouse(SpaceMouseConfig(), hid_device=replay)  # default: operator behind the robot
    idle = sm.read()
    assert not idle.engaged and idle.gripper == 1.0 and not idle.twist.any()
    replay.pending += [report(1, 0, -350, 0), report(2, 0, 0, 0)]  # push the puck away, full
    cmd = sm.read()
    assert cmd.engaged
    np.testing.assert_allclose(cmd.twist, [1, 0, 0, 0, 0, 0], atol=1e-12)  # robot forward (base +x)
    replay.pending += [report(1, 3, 2, -1)]  # sensor noise inside the deadzone
    cmd = sm.read()
    assert not cmd.engaged and not cmd.twist.any()
    replay.pending += [LEFT_BUTTON, BOTH_RELEASED, bytes.fromhex("030200"), BOTH_RELEASED]  # two clicks
    cmd = sm.read()
    assert cmd.gripper == 0.0 and cmd.success and not cmd.discard
    assert not sm.read().success  # one-shot
    sm.close()
    assert replay.closed


def test_device_frame_and_deadzone_config():
    replay = Replay()
    sm = SpaceMouse(SpaceMouseConfig(mapping=TeleopMapping(deadzone=0.2, device_rpy=(0, 0, 0))),
                    hid_device=replay)
    replay.pending.append(report(1, 0, -210, 0, 0, 0, 0))  # y = 0.6 → (0.6 - 0.2) / 0.8 = 0.5
    np.testing.assert_allclose(sm.read().twist, [0, 0.5, 0, 0, 0, 0])


def test_no_device_gives_a_clear_error():
    pytest.importorskip("hidraw", reason="hidapi not installed")
    with pytest.raises(RuntimeError, match="no SpaceMouse found: check USB and the udev rule"):
        SpaceMouse()


def test_parse_report_accepts_lists_like_hidapi_returns():
    s = parse_report(list(PUSH_RIGHT_FULL))
    assert isinstance(s, SpaceMouseRaw) and s.axes[0] == 1.0
